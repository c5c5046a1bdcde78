using Agentic.Core.Activities;
using Agentic.Runtime.Engine;
using Agentic.Runtime.Tests.Infrastructure;
using Agentic.Testing;
using Azure.Storage.Queues;
using Microsoft.Extensions.DependencyInjection;

namespace Agentic.Runtime.Tests;

/// <summary>
/// A message on the engine's own queues that the engine can not read (put there by hand, by another program, by a
/// fault) neither stops the host nor holds up other runs: it is moved to <c>{queue}-poison</c> with the reason at its
/// first delivery. On its own, DurableTask.AzureStorage keeps such a message forever, and JSON that is not an engine
/// message stalls it: on a control queue the batch it arrives with is dropped and comes back with it, on the work-item
/// queue the activity dispatcher waits 10 s each time it comes back (a run of 4 s took 70 s).
/// </summary>
public sealed class PoisonTests(AzuriteFixture azurite, FleetFixture fleet) : RuntimeTest(azurite, fleet), IClassFixture<FleetFixture>
{
    // What reaches the engine's queues that is not an engine message: text, JSON without a task message, and a task
    // message that names no instance (the last two are the ones that stall the engine when left to it).
    private static readonly (string Body, string Reason)[] Unreadable =
    [
        ("this is not a message", "neither JSON nor base64"),
        ("{}", "no task message"),
        ("{\"TaskMessage\": {\"Event\": {\"EventType\": 4}}}", "the task message names no instance"),
    ];

    [Fact]
    public async Task Engine_UnreadableMessagesOnItsQueues_GoToTheirPoisonQueuesWithTheReason_AndARunGoesOnUnhindered()
    {
        var runtime = await StartRuntimeAsync();
        QueueClient[] queues = [.. EngineStorage.ControlQueues, EngineStorage.WorkItems];
        foreach (var queue in queues)
        {
            foreach (var (body, _) in Unreadable)
            {
                await queue.SendMessageAsync(body, Ct);
            }
        }

        // A governed run with an approval: control messages, work items and an external event all pass these queues.
        var runId = await SubmitHealerAwaitingApprovalAsync(runtime);
        await DecideAsync(runtime, runId);

        foreach (var queue in queues)
        {
            var poison = new QueueClient(Azurite.ConnectionString, queue.Name + "-poison");
            foreach (var (body, reason) in Unreadable)
            {
                var poisoned = await WaitForPoisonAsync(poison, p => p.Message == body, $"'{body}' on {queue.Name}");
                Assert.Contains(reason, poisoned.Reason, StringComparison.Ordinal);
                Assert.Equal(queue.Name, poisoned.Queue);
                Assert.Equal(1, poisoned.DequeueCount);
            }
        }
        // Not held up (left to the engine, these messages cost each of the run's activities up to 10 s) and the host
        // still runs.
        AssertCompleted(await runtime.WaitTerminalAsync(runId, TimeSpan.FromSeconds(30)), "remediated");
        await AssertAppliedOnceAsync(runId, "s2", "restart");
        Assert.False(runtime.Services.GetRequiredService<EngineService>().ExecuteTask!.IsCompleted, "The engine stopped.\n" + runtime.LogTail());
        // Nothing is left on the work-item queue; the control queues keep only the run's timers, due later.
        await WaitUntilAsync(async () => (await EngineStorage.WorkItems.GetPropertiesAsync(Ct)).Value.ApproximateMessagesCount == 0, "the work-item queue drained");
        var timers = (await EngineStorage.HistoryAsync(runId, "TimerCreated", Ct)).Count;
        await WaitUntilAsync(async () => await EngineStorage.ControlMessageCountAsync(Ct) == timers, $"the control queues down to the run's {timers} timer(s)");
    }

    [Fact]
    public async Task Perceive_FailingForGood_EndsTheRunFailedWithTheReason_WithoutRetrying()
    {
        // An allowed target whose health probe answers more than perception reads: an error no retry can fix.
        var oversized = "{\"status\":\"" + new string('x', 100 * 1024) + "\"}";
        await using var server = LoopbackServer.Json(oversized);
        var target = server.Url + "/services/big";
        var runtime = await StartRuntimeAsync(new Dictionary<string, string?>
        {
            ["Agentic:Targets:Allow:1:Scheme"] = "http",
            ["Agentic:Targets:Allow:1:Host"] = "127.0.0.1",
            ["Agentic:Targets:Allow:1:Port"] = server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Agentic:Targets:Allow:1:Paths:0"] = "/services/**",
            ["Agentic:Targets:Allow:1:AllowPrivate"] = "true",
        });

        var runId = await SubmitAsync(runtime, Requests.Diagnostics(target, probes: 1));

        var run = await runtime.WaitTerminalAsync(runId);
        AssertFailed(run, $"The health probe at {target}/health answered more than {PerceiveActivity.MaxBodyBytes} bytes");
        Assert.Single(server.Requests);
    }
}
