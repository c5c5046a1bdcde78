using Agentic.Core.Runs;
using Agentic.Durable;
using Agentic.Runtime.Tests.Infrastructure;
using Agentic.Testing;
using Azure.Storage.Queues;

namespace Agentic.Runtime.Tests;

/// <summary>
/// The "agent-runs" queue is not prefixed by the hub: every runtime on a storage account listens to it. These
/// tests put requests on it, so they run alone, after the parallel classes (whose runtimes are stopped by then);
/// otherwise another test's runtime could take a request and start it on its own hub.
/// </summary>
[CollectionDefinition(nameof(RunRequestQueueUsers), DisableParallelization = true)]
public sealed class RunRequestQueueUsers;

/// <summary>
/// The queue trigger of the local host: requests become runs; bad requests go to the poison queue at once, requests
/// whose start keeps failing after the configured number of deliveries.
/// </summary>
[Collection(nameof(RunRequestQueueUsers))]
public sealed class RunRequestQueueTests(AzuriteFixture azurite, FleetFixture fleet) : RuntimeTest(azurite, fleet), IClassFixture<FleetFixture>
{
    [Fact]
    public async Task Queue_ValidRequest_StartsARunAsTheQueuePrincipalThatCompletes()
    {
        var runtime = await StartRuntimeAsync();

        await RequestsQueue(runtime).SendMessageAsync(Requests.Body(new { agent = "diagnostics", target = Fleet.HealthyTarget(), parameters = new { probes = 1 } }), Ct);

        var runId = await WaitForTheRunAsync(runtime);
        var run = await runtime.WaitTerminalAsync(runId);
        AssertCompleted(run, "done");
        Assert.Equal(RunRequestListener.Principal, run.View.Principal);
        Assert.Equal("queue:agent-runs", run.View.Principal);
    }

    [Theory]
    [InlineData("malformed JSON", "{\"agent\": \"diagnostics\", \"target\": \"{target}\"", "Malformed JSON")]
    [InlineData("an unknown field", "{\"agent\": \"diagnostics\", \"target\": \"{target}\", \"colour\": \"red\"}", "'colour'")]
    [InlineData("an unknown agent", "{\"agent\": \"no-such-agent\", \"target\": \"{target}\"}", "Unknown agent 'no-such-agent'")]
    [InlineData("another environment", "{\"agent\": \"diagnostics\", \"target\": \"{target}\", \"environment\": \"prod\"}", "This deployment's environment is 'dev'; the request names 'prod'.")]
    [InlineData("a target on another port", "{\"agent\": \"diagnostics\", \"target\": \"http://127.0.0.1:1/services/{id}\"}", "no rule of Agentic:Targets:Allow allows http://127.0.0.1:1.")]
    [InlineData("a private address", "{\"agent\": \"diagnostics\", \"target\": \"http://10.0.0.5/services/{id}\"}", "no rule of Agentic:Targets:Allow allows http://10.0.0.5:80.")]
    [InlineData("the metadata address", "{\"agent\": \"diagnostics\", \"target\": \"http://169.254.169.254/latest/{id}\"}", "no rule of Agentic:Targets:Allow allows http://169.254.169.254:80.")]
    public async Task Queue_InvalidRequest_GoesToPoisonQueueWithTheReasonAndTheHostKeepsWorking(string problem, string body, string reason)
    {
        var runtime = await StartRuntimeAsync();
        // A fresh target tells this test's message apart from earlier ones on the shared poison queue.
        body = body.Replace("{target}", Fleet.HealthyTarget(), StringComparison.Ordinal).Replace("{id}", Guid.NewGuid().ToString("N"), StringComparison.Ordinal);

        await RequestsQueue(runtime).SendMessageAsync(body, Ct);

        var poisoned = await WaitForPoisonAsync(runtime.Storage.Queues.GetQueueClient(RunRequestListener.QueueName + "-poison"), p => p.Message == body, problem);
        Assert.Contains(reason, poisoned.Reason, StringComparison.Ordinal);
        Assert.Equal(RunRequestListener.QueueName, poisoned.Queue);
        Assert.Equal(1, poisoned.DequeueCount);
        Assert.Empty(await RunIdsAsync(runtime));
        await RequestsQueue(runtime).SendMessageAsync(Requests.Body(new { agent = "diagnostics", target = Fleet.HealthyTarget(), parameters = new { probes = 1 } }), Ct);
        AssertCompleted(await runtime.WaitTerminalAsync(await WaitForTheRunAsync(runtime)), "done");
    }

    [Fact]
    public async Task Queue_RequestWhoseStartKeepsFailing_GoesToPoisonAfterMaxDequeueCount_AndStartsNoRun()
    {
        var runtime = await StartRuntimeAsync(new Dictionary<string, string?>
        {
            ["Agentic:Engine:MaxDequeueCount"] = "2",
            ["Agentic:Engine:RequestVisibilitySeconds"] = "5",
        });
        // The engine can not take a start while its instances table is gone: every start fails at storage.
        await EngineStorage.Instances.DeleteAsync(Ct);
        var body = Requests.Body(new { agent = "diagnostics", target = Fleet.HealthyTarget(), parameters = new { probes = 1 } });

        await RequestsQueue(runtime).SendMessageAsync(body, Ct);

        var poisoned = await WaitForPoisonAsync(runtime.Storage.Queues.GetQueueClient(RunRequestListener.QueueName + "-poison"), p => p.Message == body, "the request whose start failed");
        Assert.Equal("The run could not be started after 3 deliveries.", poisoned.Reason);
        Assert.Equal(3, poisoned.DequeueCount);
        Assert.Equal(2, runtime.LogTail(500).Split($"Handling a message from {RunRequestListener.QueueName} failed").Length - 1);
        // No start reached the engine.
        Assert.Equal(0, await EngineStorage.ControlMessageCountAsync(Ct));
        // Storage back, the listener and the engine go on; the one run on the hub is the next request's.
        await EngineStorage.Instances.CreateAsync(Ct);
        await RequestsQueue(runtime).SendMessageAsync(Requests.Body(new { agent = "diagnostics", target = Fleet.HealthyTarget(), parameters = new { probes = 1 } }), Ct);
        AssertCompleted(await runtime.WaitTerminalAsync(await WaitForTheRunAsync(runtime)), "done");
    }

    private static QueueClient RequestsQueue(LocalRuntime runtime) => runtime.Storage.Queues.GetQueueClient(RunRequestListener.QueueName);

    /// <summary>The one run the queue started on this test's hub.</summary>
    private static async Task<string> WaitForTheRunAsync(LocalRuntime runtime)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        List<string> runs;
        while ((runs = await RunIdsAsync(runtime)).Count == 0 && DateTime.UtcNow < until)
        {
            await Task.Delay(100, Ct);
        }
        return Assert.Single(runs);
    }
}
