using Agentic.Testing;

// One Azurite for the assembly; each test works on its own hub. The outage test starts its own.
[assembly: AssemblyFixture(typeof(AzuriteFixture))]

// These tests kill processes and measure recovery on a small machine: running them one at a time keeps
// their timing honest and their failures attributable.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
