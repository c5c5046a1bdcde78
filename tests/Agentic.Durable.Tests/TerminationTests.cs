using Agentic.Core.Agents;
using Agentic.Core.Json;
using Agentic.Durable.Tests.Support;

namespace Agentic.Durable.Tests;

/// <summary>How a run ends early on the engine: the terminate event and the deadline timer.</summary>
public sealed class TerminationTests(DurableHost host)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Diagnose (permitted), then restart, which waits for an approval nobody gives.</summary>
    private static RunScript Stuck() => new()
    {
        Plan = _ => Answers.Plan(expectHealthy: true, Answers.Step("s1", "sample.diagnostics", new { }), Answers.Step("s2", "sample.restart", new { reason = "degraded" }), Answers.Step("s3", "sample.diagnostics", new { after = true })),
        Gate = g => g.Tool == "sample.restart" ? Answers.RequireApproval(g, new(Answers.Operator)) : Answers.Permit(g),
    };

    [Fact]
    public async Task Terminate_EndsTheRunAtOnce_NamingWhoAndWhy()
    {
        var script = Stuck();
        var runId = await host.StartAsync(Answers.Request(), script);
        await host.AwaitingApprovalAsync(runId, "s2");

        await host.Runs().TerminateAsync(runId, "the restart is not needed", "carol", Ct);

        var run = await host.EndedAsync(runId);
        RunChecks.Ended(run, "terminated");
        Assert.Equal("Terminated by carol: the restart is not needed", run.View.FailureReason);
        // Ended where it stood, without compensation: the waiting step keeps its status, the rest never ran.
        RunChecks.Steps(run, "s1:Succeeded", "s2:AwaitingApproval", "s3:Skipped");
        Assert.Equal("terminated", run.View.Log[^1].Kind);
        Assert.Equal(["s1"], script.ActedSteps);
        Assert.Equal(ApprovalRefusal.NotAwaiting, (await host.Runs().DecideAsync(runId, "s2", approve: true, null, "bob", [Answers.Operator], Ct)).Refusal);
        RunChecks.ReplayedIdentically(host, runId);
    }

    [Fact]
    public async Task DuplicateTerminate_IsHarmless_TheFirstOneStands()
    {
        var script = Stuck();
        var runId = await host.StartAsync(Answers.Request(), script);
        await host.AwaitingApprovalAsync(runId, "s2");

        // Two requests back to back (a client retrying, two operators at once), and one after the run has ended.
        var runs = host.Runs();
        await runs.TerminateAsync(runId, "first", "carol", Ct);
        await runs.TerminateAsync(runId, "second", "dave", Ct);
        var ended = await host.EndedAsync(runId);
        // After the end the request must neither fail nor change the document.
        await runs.TerminateAsync(runId, "third", "erin", Ct);

        var run = await runs.GetAsync(runId, Ct);
        Assert.NotNull(run);
        RunChecks.Ended(run, "terminated");
        Assert.Equal("Terminated by carol: first", run.View.FailureReason);
        Assert.Equal(ended.View.UpdatedAt, run.View.UpdatedAt);
        Assert.Single(run.View.Log, e => e.Kind == "terminated");
        Assert.Equal(["s1"], script.ActedSteps);
        RunChecks.ReplayedIdentically(host, runId);
    }

    [Fact]
    public async Task MalformedTerminate_StillEndsTheRun_WithTheDefaults()
    {
        var runId = await host.StartAsync(Answers.Request(), Stuck());
        await host.AwaitingApprovalAsync(runId, "s2");

        await host.Engine.Client.RaiseEventAsync(runId, AgentRunOrchestrator.TerminateEvent, AgenticJson.ToElement(new[] { "stop", "now" }), Ct);

        var run = await host.EndedAsync(runId);
        RunChecks.Ended(run, "terminated");
        Assert.Equal("Terminated by unknown: Terminated.", run.View.FailureReason);
        RunChecks.ReplayedIdentically(host, runId);
    }

    [Fact]
    public async Task Deadline_FailsTheRun_WithTheDeadlineReason()
    {
        var script = Stuck();
        var runId = await host.StartAsync(Answers.Request(deadline: TimeSpan.FromSeconds(4)), script);
        // The run is stuck on an approval that would wait an hour; the run's own deadline comes first.
        var waiting = await host.AwaitingApprovalAsync(runId, "s2");
        Assert.True(waiting.View.PendingApproval!.Deadline > DateTimeOffset.UtcNow.AddMinutes(30));

        var run = await host.EndedAsync(runId);
        RunChecks.Ended(run, "failed");
        Assert.Equal("Deadline exceeded: the run did not finish within 4 s.", run.View.FailureReason);
        RunChecks.Steps(run, "s1:Succeeded", "s2:AwaitingApproval", "s3:Skipped");
        Assert.Equal(["s1"], script.ActedSteps);
        Assert.DoesNotContain(script.Calls, c => c.CommandId == "verify");
        Assert.Equal(ApprovalRefusal.NotAwaiting, (await host.Runs().DecideAsync(runId, "s2", approve: true, null, "bob", [Answers.Operator], Ct)).Refusal);
        RunChecks.ReplayedIdentically(host, runId);
    }
}
