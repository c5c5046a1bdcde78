using Agentic.Durable.Tests.Support;

// One in-process Durable Task host for the whole assembly: starting one costs a gRPC sidecar and a worker, and every
// run is isolated by its own run id (each test scripts the activities of the runs it starts).
[assembly: AssemblyFixture(typeof(DurableHost))]
