using Agentic.Core.Agents;
using Agentic.Core.Json;
using Agentic.Durable.Tests.Support;

namespace Agentic.Durable.Tests;

/// <summary>The approval wait on the engine: approvals, rejections, quorums, escalation and timeouts, with real timers.</summary>
public sealed class ApprovalTests(DurableHost host)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Diagnose (permitted), then restart (approval on <paramref name="terms"/>); <paramref name="first"/> replaces the first step.</summary>
    private static RunScript Remediation(ApprovalTerms terms, PlanStep? first = null, Func<ActInput, int, ActResult>? act = null) => new()
    {
        Plan = _ => Answers.Plan(expectHealthy: true, first ?? Answers.Step("s1", "sample.diagnostics", new { }), Answers.Step("s2", "sample.restart", new { reason = "degraded" })),
        Gate = g => g.Tool == "sample.restart" ? Answers.RequireApproval(g, terms) : Answers.Permit(g),
        Act = act ?? ((input, _) => Answers.Done(input)),
    };

    [Fact]
    public async Task Approved_StepActsUnderTheApproval_AndTheRunCompletes()
    {
        var script = Remediation(new(Answers.Operator));
        var request = Answers.Request();
        var runId = await host.StartAsync(request, script);

        var waiting = await host.AwaitingApprovalAsync(runId, "s2");
        Assert.Equal("AwaitingApproval", waiting.View.Phase);
        Assert.Equal(Answers.Operator, waiting.View.PendingApproval!.ApproverRole);
        Assert.Equal(["s1"], script.ActedSteps);
        // A repeated submission finds the run in flight instead of starting another.
        Assert.Equal((runId, false), await host.Runs().SubmitAsync(request, Ct));

        var answer = await host.Runs().DecideAsync(runId, "s2", approve: true, "go ahead", "bob", [Answers.Operator], Ct);
        Assert.Equal(ApprovalRefusal.None, answer.Refusal);

        var run = await host.EndedAsync(runId);
        RunChecks.Ended(run, "completed");
        Assert.Equal("remediated", run.View.Output?.Outcome);
        RunChecks.Steps(run, "s1:Succeeded", "s2:Succeeded");
        Assert.Equal(["perceive", "plan", "s1/gate", "s1/act", "s2/gate", "s2/act", "verify"], script.Calls.Select(c => c.CommandId));
        var acted = script.CallsOf(AgentActivities.Act)[^1].InputAs<ActInput>();
        Assert.Equal("bob", acted.Approval?.Approver);
        Assert.Equal(waiting.View.PendingApproval.ArgsDigest, acted.Approval?.ArgsDigest);
        Assert.Equal("bob", run.View.Steps[1].Approval?.Approver);
        Assert.Contains(run.View.Log, e => e.Kind == "approved" && e.StepId == "s2" && e.Message == "sample.restart approved by bob: go ahead");
        RunChecks.ReplayedIdentically(host, runId);
    }

    [Fact]
    public async Task Rejected_FailsTheRun_AfterUndoingTheReversibleStepBeforeIt()
    {
        var script = Remediation(
            new(Answers.Operator),
            first: Answers.Step("s1", "sample.scale", new { replicas = 4 }),
            act: (input, _) => input.StepId == "s1" ? Answers.Reversible(input, "sample.scale", new { replicas = 2 }) : Answers.Done(input));
        var runId = await host.StartAsync(Answers.Request(), script);
        await host.AwaitingApprovalAsync(runId, "s2");

        var answer = await host.Runs().DecideAsync(runId, "s2", approve: false, "too risky", "bob", [Answers.Operator], Ct);
        Assert.Equal(ApprovalRefusal.None, answer.Refusal);

        var run = await host.EndedAsync(runId);
        RunChecks.Ended(run, "failed");
        Assert.Equal("Step s2 (sample.restart) rejected by bob: too risky Compensated: undid 1 step(s) (s1) in reverse order.", run.View.FailureReason);
        RunChecks.Steps(run, "s1:Compensated", "s2:Rejected", "undo.s1:Succeeded");
        Assert.Equal(["s1", "s2", "undo.s1"], script.GatedSteps);
        Assert.True(script.CallsOf(AgentActivities.Gate)[^1].InputAs<GateInput>().Compensation);
        Assert.Equal(["s1", "undo.s1"], script.ActedSteps);
        var undo = script.CallsOf(AgentActivities.Act)[^1].InputAs<ActInput>();
        Assert.Equal("sample.scale", undo.Tool);
        Assert.Equal(2, undo.Arguments.GetProperty("replicas").GetInt32());
        Assert.DoesNotContain(script.Calls, c => c.CommandId == "verify");
        // The rejection is drift of the plan's planner, recorded when the run concluded.
        var drift = Assert.Single(host.Drift.Events, e => e.RunId == runId);
        Assert.Equal((Agentic.Core.Planning.DriftKinds.ApprovalRejected, "s2/approval", "s2", "playbook:test@1", "service-healer"),
            (drift.Kind, drift.CommandId, drift.StepId, drift.Origin.Planner, drift.Agent));
        Assert.Equal("Rejected by bob: too risky", drift.Reason);
        RunChecks.ReplayedIdentically(host, runId);
    }

    [Fact]
    public async Task Quorum_NeedsTwoDistinctApprovers_NeitherTheRequesterNorTheSameApproverTwice()
    {
        var script = new RunScript
        {
            Plan = _ => Answers.Plan(expectHealthy: false, Answers.Step("s1", "sample.restart", new { reason = "degraded" })),
            Gate = g => Answers.RequireApproval(g, new(Answers.Operator, Quorum: 2)),
        };
        var runId = await host.StartAsync(Answers.Request(), script);
        var pending = (await host.AwaitingApprovalAsync(runId, "s1", p => p.Quorum == 2)).View.PendingApproval!;
        var runs = host.Runs();

        // The requester: refused by the client, and ignored by the workflow when raised on the engine directly.
        var own = await runs.DecideAsync(runId, "s1", approve: true, null, Answers.Requester, [Answers.Operator], Ct);
        Assert.Equal(ApprovalRefusal.Forbidden, own.Refusal);
        await RaiseApprovalAsync(runId, "s1", new("approve", Answers.Requester, [Answers.Operator], pending.ArgsDigest, "mine", Answers.T0));
        await host.WaitForAsync(runId, r => r.View.Log.Any(e => e.Kind == "approval-refused" && e.Message.Contains("the requester can not approve", StringComparison.Ordinal)), "refusal of the requester's approval");

        Assert.Equal(ApprovalRefusal.None, (await runs.DecideAsync(runId, "s1", approve: true, "ok", "bob", [Answers.Operator], Ct)).Refusal);
        await host.AwaitingApprovalAsync(runId, "s1", p => p.ApprovedBy is ["bob"]);
        // The same answer again is a retry: delivered again, counted once. Another answer by bob is refused by the
        // client, and ignored by the workflow when raised on the engine directly.
        Assert.Equal(ApprovalRefusal.None, (await runs.DecideAsync(runId, "s1", approve: true, "ok", "bob", [Answers.Operator], Ct)).Refusal);
        Assert.Equal(ApprovalRefusal.Forbidden, (await runs.DecideAsync(runId, "s1", approve: false, "changed my mind", "bob", [Answers.Operator], Ct)).Refusal);
        // Bob's rejection, spelled another way, raised past the client: had it counted, any qualified rejection fails the run.
        await RaiseApprovalAsync(runId, "s1", new("reject", "BOB", [Answers.Operator], pending.ArgsDigest, "changed my mind", Answers.T0));
        await host.WaitForAsync(runId, r => r.View.Log.Any(e => e.Kind == "approval-refused" && e.Message.StartsWith("Ignored a second answer by BOB", StringComparison.Ordinal)), "refusal of bob's second answer");

        var still = await host.AwaitingApprovalAsync(runId, "s1");
        Assert.Equal(["bob"], still.View.PendingApproval!.ApprovedBy);
        Assert.Empty(script.ActedSteps);

        Assert.Equal(ApprovalRefusal.None, (await runs.DecideAsync(runId, "s1", approve: true, "agreed", "carol", [Answers.Operator], Ct)).Refusal);
        var run = await host.EndedAsync(runId);
        RunChecks.Ended(run, "completed");
        RunChecks.Steps(run, "s1:Succeeded");
        Assert.Equal(
            ["sample.restart approved by bob (1 of 2): ok", "sample.restart approved by carol (2 of 2): agreed"],
            run.View.Log.Where(e => e.Kind == "approved").Select(e => e.Message));
        Assert.Equal(["s1"], script.ActedSteps);
        Assert.Equal("carol", script.CallsOf(AgentActivities.Act)[0].InputAs<ActInput>().Approval?.Approver);
        RunChecks.ReplayedIdentically(host, runId);
    }

    [Fact]
    public async Task ApprovalTimeout_EscalatesToTheEscalationRole_WhoseApprovalCompletesTheRun()
    {
        var script = Remediation(new(Answers.Operator, Timeout: TimeSpan.FromSeconds(3), EscalateTo: "admin"));
        var runId = await host.StartAsync(Answers.Request(), script);
        var first = await host.AwaitingApprovalAsync(runId, "s2");
        Assert.Equal(Answers.Operator, first.View.PendingApproval!.ApproverRole);
        Assert.Null(first.View.PendingApproval.Escalated);

        var escalated = await host.AwaitingApprovalAsync(runId, "s2", p => p.Escalated == true);
        Assert.Equal("admin", escalated.View.PendingApproval!.ApproverRole);
        Assert.True(escalated.View.PendingApproval.Deadline > first.View.PendingApproval.Deadline);
        // Once escalated, the first role no longer suffices.
        var late = await host.Runs().DecideAsync(runId, "s2", approve: true, null, "bob", [Answers.Operator], Ct);
        Assert.Equal(ApprovalRefusal.Forbidden, late.Refusal);
        var answer = await host.Runs().DecideAsync(runId, "s2", approve: true, "escalated, approved", "dave", ["admin"], Ct);
        Assert.Equal(ApprovalRefusal.None, answer.Refusal);

        var run = await host.EndedAsync(runId);
        RunChecks.Ended(run, "completed");
        RunChecks.Steps(run, "s1:Succeeded", "s2:Succeeded");
        Assert.Single(run.View.Log, e => e.Kind == "escalated" && e.StepId == "s2");
        Assert.Equal("dave", run.View.Steps[1].Approval?.Approver);
        Assert.Equal(["s1", "s2"], script.ActedSteps);
        RunChecks.ReplayedIdentically(host, runId);
    }

    [Fact]
    public async Task ApprovalTimeout_WithoutEscalation_RejectsTheStep_AndFailsTheRun()
    {
        var script = Remediation(new(Answers.Operator, Timeout: TimeSpan.FromSeconds(1)));
        var runId = await host.StartAsync(Answers.Request(), script);

        var run = await host.EndedAsync(runId);
        RunChecks.Ended(run, "failed");
        Assert.Equal("Approval for step s2 (sample.restart) timed out after 1 s; the step is rejected.", run.View.FailureReason);
        RunChecks.Steps(run, "s1:Succeeded", "s2:Rejected");
        Assert.Equal("Approval timed out.", run.View.Steps[1].Error);
        Assert.Equal(["s1"], script.ActedSteps);
        // An answer after the timeout finds nothing to approve.
        var late = await host.Runs().DecideAsync(runId, "s2", approve: true, null, "bob", [Answers.Operator], Ct);
        Assert.Equal(ApprovalRefusal.NotAwaiting, late.Refusal);
        var drift = Assert.Single(host.Drift.Events, e => e.RunId == runId);
        Assert.Equal((Agentic.Core.Planning.DriftKinds.ApprovalTimeout, "s2/approval-timeout"), (drift.Kind, drift.CommandId));
        RunChecks.ReplayedIdentically(host, runId);
    }

    [Fact]
    public async Task Forbid_FailsTheRun_WithoutCallingTheTool()
    {
        var script = new RunScript
        {
            Plan = _ => Answers.Plan(expectHealthy: true, Answers.Step("s1", "sample.restart", new { reason = "degraded" }), Answers.Step("s2", "sample.diagnostics", new { })),
            Gate = g => g.Tool == "sample.restart" ? Answers.Forbid(g) : Answers.Permit(g),
        };
        var runId = await host.StartAsync(Answers.Request(), script);

        var run = await host.EndedAsync(runId);
        RunChecks.Ended(run, "failed");
        Assert.Equal("Step s1 (sample.restart) forbidden by baseline rule 'forbid-restart-in-prod': sample.restart judged by rule 'forbid-restart-in-prod'.", run.View.FailureReason);
        RunChecks.Steps(run, "s1:Denied", "s2:Skipped");
        Assert.Empty(script.CallsOf(AgentActivities.Act));
        Assert.Equal(["s1"], script.GatedSteps);
        RunChecks.ReplayedIdentically(host, runId);
    }

    private Task RaiseApprovalAsync(string runId, string stepId, ApprovalDecision approval) =>
        host.Engine.Client.RaiseEventAsync(runId, Core.Workflow.AgentWorkflow.Ids.ApprovalEvent(stepId), AgenticJson.ToElement(approval), Ct);
}
