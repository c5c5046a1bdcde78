using Agentic.Core.Json;
using Agentic.Core.Workflow;
using Agentic.Runtime.Queues;
using Agentic.Runtime.Tests.Infrastructure;
using Agentic.Testing;
using Azure.Storage.Queues;

namespace Agentic.Runtime.Tests;

/// <summary>Messages the runner can not process end in its poison queues with a reason, and never stall the host.</summary>
public sealed class PoisonTests(AzuriteFixture azurite, FleetFixture fleet) : RuntimeTest(azurite, fleet), IClassFixture<FleetFixture>
{
    private static readonly Dictionary<string, string?> DeliverOnce = new() { ["Agentic:Runner:MaxDequeueCount"] = "1" };

    private static readonly Dictionary<string, string?> DeliverThrice = new()
    {
        ["Agentic:Runner:MaxDequeueCount"] = "3",
        ["Agentic:Runner:ControlLeaseSeconds"] = "2",
        ["Agentic:Runner:WorkLeaseSeconds"] = "2",
    };

    [Theory]
    [InlineData("control", "this is not json", "Not a control message")]
    [InlineData("work", "{\"runId\": \"run-1\", \"commandId\": ", "Not a work item")]
    public async Task Runner_MalformedMessage_GoesToPoisonQueueWithReasonAndHostKeepsWorking(string queue, string body, string reason)
    {
        var runtime = await StartRuntimeAsync(DeliverThrice);

        await runtime.Storage.Queue(queue).SendMessageAsync(body, Ct);

        var poisoned = await WaitForPoisonAsync(runtime.Storage.Queue(queue + "-poison"), p => p.Message == body, "the malformed message");
        Assert.StartsWith(reason, poisoned.Reason, StringComparison.Ordinal);
        Assert.Equal($"{Hub}-{queue}", poisoned.Queue);
        await AssertDrainedAsync(runtime.Storage.Queue(queue));
        var runId = await SubmitAsync(runtime, Requests.Diagnostics(Fleet.HealthyTarget(), probes: 1));
        AssertCompleted(await runtime.WaitTerminalAsync(runId), "done");
    }

    public static TheoryData<string, string, string, bool> Unreadable() => new()
    {
        // A control message whose event lacks its $type: no event type can be chosen for it.
        { "control", """{"runId":"{run}","eventId":"done:s2/gate","event":{"commandId":"s2/gate","result":{},"at":"2030-01-01T00:00:00Z"}}""", "WorkflowEvent", true },
        // A control message whose event is of an unknown type (a newer version's, say).
        { "control", """{"runId":"{run}","eventId":"ext:1","event":{"$type":"escalatedTwice","at":"2030-01-01T00:00:00Z"}}""", "escalatedTwice", true },
        // The wrong shape: members of the wrong JSON type.
        { "control", """{"runId":"{run}","eventId":42,"timer":"soon"}""", "Not a control message: ", true },
        { "work", """{"runId":"{run}","commandId":"s2/act","name":"Act","input":{},"attempt":"first","retry":{"maxAttempts":1},"timeout":"00:00:30"}""", "Not a work item: ", true },
        // Garbage: nothing names a run, so no run is failed.
        { "control", "<<garbage>> {{{ not json", "Not a control message: ", false },
        { "work", "[1,2,3]", "Not a work item: ", false },
    };

    [Theory]
    [MemberData(nameof(Unreadable))]
    public async Task UnreadableMessage_IsPoisonedAfterTheConfiguredDequeueCount_WithTheReason_AndFailsItsRun_AndOtherWorkGoesOn(string queue, string template, string problem, bool namesRun)
    {
        var runtime = await StartRuntimeAsync(DeliverThrice);
        var waiting = await SubmitHealerAwaitingApprovalAsync(runtime);
        var body = template.Replace("{run}", waiting, StringComparison.Ordinal);

        await runtime.Storage.Queue(queue).SendMessageAsync(body, Ct);
        var other = await SubmitAsync(runtime, Requests.Diagnostics(Fleet.HealthyTarget(), probes: 1));

        var poisoned = await WaitForPoisonAsync(runtime.Storage.Queue(queue + "-poison"), p => p.Message == body, "the unreadable message");
        Assert.Equal(3, poisoned.DequeueCount);
        Assert.Contains(problem, poisoned.Reason, StringComparison.Ordinal);
        Assert.Contains("delivered 3 times", poisoned.Reason, StringComparison.Ordinal);
        if (queue == "work")
        {
            // (The control queue keeps the waiting run's timers, hidden until due.)
            await AssertDrainedAsync(runtime.Storage.Queue(queue));
        }
        AssertCompleted(await runtime.WaitTerminalAsync(other), "done");
        if (namesRun)
        {
            AssertFailed(await runtime.WaitTerminalAsync(waiting), "Unreadable message: ", problem, poisoned.Reason);
        }
        else
        {
            // Its run is not known; the run waiting meanwhile still waits, and finishes when approved.
            Assert.Equal(RunStatus.Running, (await runtime.Runs.GetAsync(waiting, Ct))!.Status);
            await DecideAsync(runtime, waiting);
            AssertCompleted(await runtime.WaitTerminalAsync(waiting), "remediated");
        }
    }

    [Theory]
    [InlineData("control")]
    [InlineData("work")]
    public async Task Runner_JsonMessageWithoutRunId_IsPoisonedOnceAndLeavesTheQueues(string queue)
    {
        var runtime = await StartRuntimeAsync(DeliverOnce);

        await runtime.Storage.Queue(queue).SendMessageAsync("{}", Ct);

        var poisoned = await WaitForPoisonAsync(runtime.Storage.Queue(queue + "-poison"), p => p.Message == "{}", "the incomplete message");
        Assert.False(string.IsNullOrWhiteSpace(poisoned.Reason));
        // Past two more leases a looping message would have been delivered, and poisoned, again.
        await Task.Delay(TimeSpan.FromSeconds(9), Ct);
        await AssertDrainedAsync(runtime.Runner.ControlQueue);
        await AssertDrainedAsync(runtime.Runner.WorkQueue);
        var copies = (await PeekPoisonAsync(runtime.Storage.Queue("control-poison"))).Count + (await PeekPoisonAsync(runtime.Storage.Queue("work-poison"))).Count;
        Assert.Equal(1, copies);
    }

    [Fact]
    public async Task Activity_DequeuedMoreThanMaxDequeueCount_IsPoisonedAndFailsTheRun()
    {
        // A worker that took a work item and died leaves it to reappear with a higher dequeue count. That is
        // simulated exactly: the hub is provisioned by a runtime that is then stopped, the run is started on
        // it (so nothing pumps), and the test receives the perceive work item itself and lets its lease lapse.
        // The next runtime, allowing one delivery, then sees dequeue count 2.
        var crashed = await StartRuntimeAsync(DeliverOnce);
        await crashed.StopAsync();
        var runId = await SubmitAsync(crashed, Requests.Diagnostics(Fleet.HealthyTarget(), probes: 1));
        var taken = Assert.Single((await crashed.Runner.WorkQueue.ReceiveMessagesAsync(1, TimeSpan.FromSeconds(1), Ct)).Value);
        Assert.Contains(runId, taken.Body.ToString(), StringComparison.Ordinal);

        var runtime = await StartRuntimeAsync(DeliverOnce);

        var run = await runtime.WaitTerminalAsync(runId);
        AssertFailed(run, "PoisonMessage", "dequeued 2 times", "-work-poison");
        var poisoned = await WaitForPoisonAsync(runtime.Storage.Queue("work-poison"), p => p.Message.Contains(runId, StringComparison.Ordinal), "the perceive work item");
        Assert.Contains("Activity Perceive (perceive) was dequeued 2 times", poisoned.Reason, StringComparison.Ordinal);
        Assert.Equal(2, poisoned.DequeueCount);
        await AssertDrainedAsync(runtime.Runner.WorkQueue);
    }

    [Fact]
    public async Task LeftOverWorkItem_ForAFinishedCommand_IsDroppedWithoutFailingTheRun()
    {
        // Crashes count as deliveries: a duplicate of work the run finished long ago may come back with a high
        // dequeue count. It is not poison: it is dropped, and the completed run stays completed.
        var first = await StartRuntimeAsync(DeliverOnce);
        var runId = await SubmitAsync(first, Requests.Diagnostics(Fleet.HealthyTarget(), probes: 1));
        AssertCompleted(await first.WaitTerminalAsync(runId), "done");
        await first.StopAsync();
        var copy = new WorkItem(runId, AgentWorkflow.Ids.Perceive, "Perceive", AgenticJson.ToElement(new { }), null, 1, RetryOptions.None, TimeSpan.FromSeconds(5));
        await first.Runner.SendWorkAsync(copy, TimeSpan.Zero, Ct);
        Assert.Single((await first.Runner.WorkQueue.ReceiveMessagesAsync(1, TimeSpan.FromSeconds(1), Ct)).Value);

        var runtime = await StartRuntimeAsync(DeliverOnce);

        await AssertDrainedAsync(runtime.Runner.WorkQueue);
        var run = await runtime.Runs.GetAsync(runId, Ct);
        Assert.Equal(RunStatus.Completed, run!.Status);
        Assert.Null(run.RunnerFailure);
        Assert.DoesNotContain(await PeekPoisonAsync(runtime.Storage.Queue("work-poison")), p => p.Message.Contains(runId, StringComparison.Ordinal));
    }

    private static async Task AssertDrainedAsync(QueueClient queue)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        int count;
        while ((count = (await queue.GetPropertiesAsync(Ct)).Value.ApproximateMessagesCount) > 0 && DateTime.UtcNow < until)
        {
            await Task.Delay(100, Ct);
        }
        Assert.True(count == 0, $"{queue.Name} still holds {count} message(s).");
    }
}
