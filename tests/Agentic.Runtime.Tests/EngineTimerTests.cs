using Agentic.Core.Workflow;
using Agentic.Runtime.Tests.Infrastructure;
using Agentic.Testing;
using Azure.Data.Tables;

namespace Agentic.Runtime.Tests;

/// <summary>
/// Durable timers on Azure Storage are queue messages hidden until due, and a queue hides a message for at most 7 days:
/// the engine chains a longer timer from links of at most <c>Agentic:Engine:MaxTimerIntervalSeconds</c> (3 days by
/// default), and the run sees one timer that fires at its due time.
/// </summary>
public sealed class EngineTimerTests(AzuriteFixture azurite, FleetFixture fleet) : RuntimeTest(azurite, fleet), IClassFixture<FleetFixture>
{
    private static readonly TimeSpan DefaultMaxInterval = TimeSpan.FromDays(3);

    [Fact]
    public async Task TimersBeyondTheQueueLimit_AreChainedFromLinksOfAtMostTheMaximumInterval_AndTheRunKeepsWaiting()
    {
        var policy = await LongApprovalPolicyAsync();
        try
        {
            // The baseline asks for an answer within 30 minutes; this deployment's policy allows ten days, so the request's
            // longest approval timeout (7 days) and deadline (30 days) are the timers the run sets.
            var runtime = await StartRuntimeAsync(new Dictionary<string, string?> { ["Agentic:Policy:Path"] = policy });
            var target = await Fleet.DegradedTargetAsync();
            var runId = await SubmitAsync(runtime, Requests.Parse(new { agent = "service-healer", target, approvalTimeoutSeconds = 7 * 24 * 3600, deadlineSeconds = 30 * 24 * 3600 }));

            var waiting = await runtime.WaitAwaitingApprovalAsync(runId, "s2");

            Assert.True(waiting.View.PendingApproval!.Deadline > DateTimeOffset.UtcNow + TimeSpan.FromDays(6.9), $"The approval is due {waiting.View.PendingApproval.Deadline:u}.");
            // The deadline and the approval timeout are both set, each as its first link: due in (almost exactly) the
            // maximum interval, not at the timer's own due time.
            List<TableEntity> timers = [];
            await WaitUntilAsync(async () => (timers = await EngineStorage.HistoryAsync(runId, "TimerCreated", Ct)).Count >= 2, "both timers set");
            Assert.Equal(2, timers.Count);
            Assert.All(timers, t =>
            {
                var link = FireAt(t) - CreatedAt(t);
                Assert.True(link <= DefaultMaxInterval && link > DefaultMaxInterval - TimeSpan.FromMinutes(1), $"A timer link of {link} (fires {FireAt(t):u}).");
            });
            var run = await runtime.Runs.GetAsync(runId, Ct);
            Assert.True(run is { IsRunning: true, View.Phase: nameof(RunPhase.AwaitingApproval) }, LocalRuntime.Describe(run));
            Assert.Equal(Microsoft.DurableTask.Client.OrchestrationRuntimeStatus.Running, run.EngineStatus);

            // The chained timers do not stand in the way: the approval still ends the run.
            await DecideAsync(runtime, runId);
            AssertCompleted(await runtime.WaitTerminalAsync(runId), "remediated");
            await AssertAppliedOnceAsync(runId, "s2", "restart");
        }
        finally
        {
            File.Delete(policy);
        }
    }

    [Fact]
    public async Task ApprovalTimeout_ChainedFromTwoSecondLinks_FiresAtItsDueTime_AndRejectsTheStep()
    {
        var runtime = await StartRuntimeAsync(new Dictionary<string, string?> { ["Agentic:Engine:MaxTimerIntervalSeconds"] = "2" });
        var runId = await SubmitHealerAwaitingApprovalAsync(runtime, approvalTimeoutSeconds: 5);
        var due = (await runtime.Runs.GetAsync(runId, Ct))!.View.PendingApproval!.Deadline!.Value;

        var run = await runtime.WaitTerminalAsync(runId, TimeSpan.FromSeconds(30));

        AssertFailed(run, "Approval for step s2 (sample.restart) timed out after");
        Assert.Equal(nameof(StepStatus.Rejected), run.View.Steps.Single(s => s.StepId == "s2").Status);
        Assert.Empty(await Fleet.EffectsOfAsync(runId));
        // At its due time: a queue hides a message for whole seconds, so a timer on Azure Storage fires up to a second
        // early, never more.
        Assert.True(run.View.UpdatedAt > due - TimeSpan.FromSeconds(1), $"The timeout fired at {run.View.UpdatedAt:O}, due {due:O}.");
        // Through a chain: every link at most two seconds long (the 5 s timeout needs three, and the 4 h deadline adds
        // one every link while the run waits).
        var timers = await EngineStorage.HistoryAsync(runId, "TimerCreated", Ct);
        Assert.True(timers.Count >= 5, $"{timers.Count} timer(s) created.");
        Assert.All(timers, t => Assert.True(FireAt(t) - CreatedAt(t) <= TimeSpan.FromSeconds(2.5), $"A timer link of {FireAt(t) - CreatedAt(t)}."));
    }

    private static DateTimeOffset FireAt(TableEntity timer) =>
        timer.GetDateTimeOffset("FireAt") ?? throw new InvalidOperationException("A TimerCreated row without FireAt: " + string.Join(", ", timer.Keys));

    // The event's own time (when the orchestration created the timer), which the engine keeps beside the row's.
    private static DateTimeOffset CreatedAt(TableEntity timer) =>
        timer.GetDateTimeOffset("_Timestamp") ?? timer.Timestamp ?? throw new InvalidOperationException("A TimerCreated row without a time.");

    // The baseline policy with ten days for an operator's approval of a high-risk change instead of 30 minutes.
    private static async Task<string> LongApprovalPolicyAsync()
    {
        var baseline = await File.ReadAllTextAsync(Path.Combine(Repo.Root, "policies", "baseline.yaml"), Ct);
        const string HighRisk = "      timeout: 30m\n      onTimeout: reject";
        Assert.Contains(HighRisk, baseline, StringComparison.Ordinal);
        var path = Path.Combine(Path.GetTempPath(), $"agentic-long-approval-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(path, baseline.Replace(HighRisk, "      timeout: 10d\n      onTimeout: reject", StringComparison.Ordinal)
            .Replace("version: \"3\"", "version: \"3-long-approval\"", StringComparison.Ordinal), Ct);
        return path;
    }
}
