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
        var hidden = (await queue.GetPropertiesAsync(Ct)).Value.ApproximateMessagesCount;
        var events = (await runtime.Runs.GetAsync(runId, Ct))!.Events;

        // The deadline timer of this run, delivered now although it is due in ten days.
        var farTimer = new ControlMessage(runId, "timer:" + AgentWorkflow.Ids.Deadline, null, null,
            new TimerMessage(AgentWorkflow.Ids.Deadline, DateTimeOffset.UtcNow.AddDays(10)));
        await runtime.Runner.SendControlAsync(farTimer, TimeSpan.Zero, Ct);

        // Taken and sent again, hidden: the queue holds one more hidden message than before, no visible one.
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while ((await queue.PeekMessagesAsync(1, Ct)).Value.Length > 0)
        {
            Assert.True(DateTime.UtcNow < until, "The far timer was not taken within 30 s.\n" + runtime.LogTail());
            await Task.Delay(100, Ct);
        }
        Assert.Equal(hidden + 1, (await queue.GetPropertiesAsync(Ct)).Value.ApproximateMessagesCount);
        var run = await runtime.Runs.GetAsync(runId, Ct);
        Assert.Equal(RunPhase.AwaitingApproval, run!.State.Phase);
        Assert.Equal(events, run.Events);
    }

    [Fact]
    public async Task Deadline_WhenItFires_FailsTheRunWaitingForApproval()
    {
        var runtime = await StartRuntimeAsync();
        var target = await Fleet.DegradedTargetAsync();

        var runId = await SubmitAsync(runtime, Requests.Parse(new { agent = "service-healer", target, deadlineSeconds = 3 }));

        var run = await runtime.WaitTerminalAsync(runId, TimeSpan.FromSeconds(30));
        AssertFailed(run, "Deadline exceeded");
        Assert.Equal(StepStatus.AwaitingApproval, run.State.Steps[1].Status);
        Assert.Empty(await Fleet.EffectsOfAsync(runId));
    }
}
