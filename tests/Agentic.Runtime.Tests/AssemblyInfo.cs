using Agentic.Testing;

// One real Azurite for the whole assembly; every test isolates itself with its own hub name.
[assembly: AssemblyFixture(typeof(AzuriteFixture))]
