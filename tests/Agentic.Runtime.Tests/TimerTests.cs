using Agentic.Core.Workflow;
using Agentic.Runtime.Queues;
using Agentic.Runtime.Tests.Infrastructure;
using Agentic.Testing;

namespace Agentic.Runtime.Tests;

/// <summary>Durable timers are hidden control messages; those longer than the queue's 7-day limit re-arm until due.</summary>
public sealed class TimerTests(AzuriteFixture azurite, FleetFixture fleet) : RuntimeTest(azurite, fleet), IClassFixture<FleetFixture>
{
    [Fact]
    public async Task Timer_DueBeyondTheQueueLimit_ReArmsInsteadOfFiring()
    {
        var runtime = await StartRuntimeAsync();
        var runId = await SubmitHealerAwaitingApprovalAsync(runtime);
        var queue = runtime.Runner.ControlQueue;
        // The queue's count includes hidden messages (this run's deadline and approval-timeout timers) and any
        // message still being handled, so each reading is taken once the queue has settled.
        var hidden = await SettledCountAsync(queue, expected: null, runtime);
        var events = (await runtime.Runs.GetAsync(runId, Ct))!.Events;

        // The deadline timer of this run, delivered now although it is due in ten days.
        var farTimer = new ControlMessage(runId, "timer:" + AgentWorkflow.Ids.Deadline, null, null,
            new TimerMessage(AgentWorkflow.Ids.Deadline, DateTimeOffset.UtcNow.AddDays(10)));
        await runtime.Runner.SendControlAsync(farTimer, TimeSpan.Zero, Ct);

        // Taken and sent again, hidden: the queue settles at one more hidden message than before, none visible.
        await SettledCountAsync(queue, expected: hidden + 1, runtime);
        var run = await runtime.Runs.GetAsync(runId, Ct);
        Assert.Equal(RunPhase.AwaitingApproval, run!.State.Phase);
        Assert.Equal(events, run.Events);
    }

    [Fact]
    public async Task Deadline_WhenItFires_FailsTheRunWaitingForApproval()
    {
        var runtime = await StartRuntimeAsync();
        var target = await Fleet.DegradedTargetAsync();

        // Long enough to reach the approval on a busy machine; the test then waits for the deadline, not for a guess.
        var runId = await SubmitAsync(runtime, Requests.Parse(new { agent = "service-healer", target, deadlineSeconds = 15 }));
        var waiting = await runtime.WaitForAsync(runId, r => r.Status != RunStatus.Running || r.State.Phase == RunPhase.AwaitingApproval, "awaiting approval", TimeSpan.FromSeconds(15));
        Assert.True(waiting.Status == RunStatus.Running, $"The run ended before it asked for approval: {waiting.State.FailureReason}");

        var run = await runtime.WaitTerminalAsync(runId, TimeSpan.FromSeconds(45));
        AssertFailed(run, "Deadline exceeded");
        Assert.Equal(StepStatus.AwaitingApproval, run.State.Steps[1].Status);
        Assert.Empty(await Fleet.EffectsOfAsync(runId));
    }

    /// <summary>
    /// Waits until no message is visible and the count has held still for a second (or equals <paramref name="expected"/>
    /// for a second), and returns it; fails after 30 s.
    /// </summary>
    private static async Task<int> SettledCountAsync(global::Azure.Storage.Queues.QueueClient queue, int? expected, LocalRuntime runtime)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        int? last = null;
        var steady = 0;
        while (DateTime.UtcNow < until)
        {
            var count = (await queue.GetPropertiesAsync(Ct)).Value.ApproximateMessagesCount;
            var visible = (await queue.PeekMessagesAsync(1, Ct)).Value.Length;
            steady = visible == 0 && count == last && (expected is null || count == expected) ? steady + 1 : 0;
            if (steady >= 4)
            {
                return count;
            }
            last = count;
            await Task.Delay(250, Ct);
        }
        Assert.Fail($"The control queue did not settle{(expected is null ? "" : $" at {expected} messages")} within 30 s (last count {last}).\n{runtime.LogTail()}");
        return 0;
    }
}
