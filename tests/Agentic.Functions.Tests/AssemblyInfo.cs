using Agentic.Functions.Tests.Support;

// One publish of the Functions app and one compile of infra/ for the whole assembly; every test reads them.
[assembly: AssemblyFixture(typeof(PublishedFunctionsApp))]
[assembly: AssemblyFixture(typeof(CompiledInfra))]
