using Agentic.Core.Agents;
using Agentic.Core.Workflow;
using Agentic.Durable;
using Agentic.Runtime.Tests.Infrastructure;
using Agentic.Testing;

namespace Agentic.Runtime.Tests;

/// <summary>The governed step end to end on the local runner: gate, human approval, act, verify.</summary>
public sealed class GovernedRunTests(AzuriteFixture azurite, FleetFixture fleet) : RuntimeTest(azurite, fleet), IClassFixture<FleetFixture>
{
    [Fact]
    public async Task ServiceHealer_ApprovedByOperator_RestartsOnceAndRecordsDecisionAndApproval()
    {
        var runtime = await StartRuntimeAsync();
        var runId = await SubmitHealerAwaitingApprovalAsync(runtime);
        Assert.Empty(await Fleet.EffectsOfAsync(runId));

        await DecideAsync(runtime, runId);

        var run = await runtime.WaitTerminalAsync(runId);
        AssertCompleted(run, "remediated");
        await AssertAppliedOnceAsync(runId, "s2", "restart");
        var restart = run.View.Steps.Single(s => s.StepId == "s2");
        var decision = await runtime.Governance.GetDecisionAsync(runId, "s2", Ct);
        Assert.NotNull(decision);
        Assert.Equal(GateEffect.RequireApproval, decision.Effect);
        Assert.Equal("approve-high-risk", decision.Rule);
        Assert.Equal(restart.ArgsDigest, decision.ArgsDigest);
        var approval = Assert.Single(await runtime.Governance.GetApprovalsAsync(runId, "s2", Ct));
        Assert.True(approval.Approved);
        Assert.Equal(Approver, approval.Approver);
        Assert.Equal(restart.ArgsDigest, approval.ArgsDigest);
        var diagnostics = await runtime.Governance.GetDecisionAsync(runId, "s1", Ct);
        Assert.Equal(GateEffect.Permit, diagnostics?.Effect);
        Assert.Empty(await runtime.Governance.GetApprovalsAsync(runId, "s1", Ct));
    }

    [Fact]
    public async Task ServiceHealer_Rejected_FailsNamingTheApproverWithoutRestarting()
    {
        var runtime = await StartRuntimeAsync();
        var runId = await SubmitHealerAwaitingApprovalAsync(runtime);

        await DecideAsync(runtime, runId, approve: false, comment: "not now");

        var run = await runtime.WaitTerminalAsync(runId);
        AssertFailed(run, "rejected by " + Approver, "not now");
        Assert.Equal(nameof(StepStatus.Rejected), run.View.Steps.Single(s => s.StepId == "s2").Status);
        Assert.Empty(await Fleet.EffectsOfAsync(runId));
    }

    [Fact]
    public async Task ServiceHealer_ApprovalNotGivenInTime_FailsAsTimedOutWithoutRestarting()
    {
        var runtime = await StartRuntimeAsync();
        var runId = await SubmitHealerAwaitingApprovalAsync(runtime, approvalTimeoutSeconds: 2);

        var run = await runtime.WaitTerminalAsync(runId, TimeSpan.FromSeconds(30));

        AssertFailed(run, "timed out");
        Assert.Equal(nameof(StepStatus.Rejected), run.View.Steps.Single(s => s.StepId == "s2").Status);
        Assert.Empty(await Fleet.EffectsOfAsync(runId));
    }

    [Theory]
    [InlineData(Requests.Requester, "operator", "can not approve its actions")]
    [InlineData(Approver, "viewer", "needs the role 'operator'")]
    [InlineData("anonymous", "operator", "identified approver")]
    public async Task Approval_BySelfWithoutRoleOrAnonymous_IsRefusedAndTheRunKeepsWaiting(string approver, string role, string because)
    {
        var runtime = await StartRuntimeAsync();
        var runId = await SubmitHealerAwaitingApprovalAsync(runtime);

        var result = await runtime.Runs.DecideAsync(runId, "s2", approve: true, "let me", approver, [role], Ct);

        Assert.Equal(ApprovalRefusal.Forbidden, result.Refusal);
        Assert.Contains(because, result.Detail, StringComparison.Ordinal);
        Assert.Null(result.Approval);
        Assert.Empty(await runtime.Governance.GetApprovalsAsync(runId, "s2", Ct));
        // Give a wrongly delivered event time to be applied before looking: the run must still wait.
        await Task.Delay(500, Ct);
        var run = await runtime.Runs.GetAsync(runId, Ct);
        Assert.NotNull(run);
        Assert.True(run.IsRunning, LocalRuntime.Describe(run));
        Assert.Equal(nameof(RunPhase.AwaitingApproval), run.View.Phase);
        Assert.Empty(await Fleet.EffectsOfAsync(runId));
    }

    [Fact]
    public async Task Scaler_WithinTheBaselinesLimits_ScalesOnItsOwn_AndTheDecisionNamesRuleAndCost()
    {
        var runtime = await StartRuntimeAsync();
        var runId = await SubmitAsync(runtime, Requests.Scaler(Fleet.HealthyTarget(), replicas: 5));

        var run = await runtime.WaitTerminalAsync(runId);

        AssertCompleted(run, "done");
        await AssertAppliedOnceAsync(runId, "s1", "scale");
        var decision = await runtime.Governance.GetDecisionAsync(runId, "s1", Ct);
        Assert.NotNull(decision);
        Assert.Equal((GateEffect.Permit, "permit-small-scale", "4"), (decision.Effect, decision.Rule, decision.PolicyVersion));
        Assert.NotNull(decision.Request);
        Assert.Equal(5, decision.Request.Arguments.GetProperty("replicas").GetInt32());
        Assert.Equal(1, run.View.ToolCalls);
    }

    [Fact]
    public async Task Scaler_ToZero_NeedsTwoDistinctOperators_ThenScalesOnce()
    {
        var runtime = await StartRuntimeAsync();
        var runId = await SubmitAsync(runtime, Requests.Scaler(Fleet.HealthyTarget(), replicas: 0));
        await runtime.WaitAwaitingApprovalAsync(runId, "s1");

        var first = await runtime.Runs.DecideAsync(runId, "s1", approve: true, "one", "bob", ["operator"], Ct);
        Assert.Equal(ApprovalRefusal.None, first.Refusal);
        // The same answer again is a retry: accepted, delivered again, and not counted twice.
        var again = await runtime.Runs.DecideAsync(runId, "s1", approve: true, "me again", "bob", ["operator"], Ct);
        Assert.Equal(ApprovalRefusal.None, again.Refusal);
        Assert.Equal("one", again.Approval!.Comment);
        var changed = await runtime.Runs.DecideAsync(runId, "s1", approve: false, "changed my mind", "bob", ["operator"], Ct);
        Assert.Equal(ApprovalRefusal.Forbidden, changed.Refusal);
        Assert.Equal("bob already answered 'approve' for this step; a recorded answer is not changed.", changed.Detail);
        await Task.Delay(500, Ct);
        Assert.Empty(await Fleet.EffectsOfAsync(runId));
        var waiting = await runtime.Runs.GetAsync(runId, Ct);
        Assert.Equal(nameof(RunPhase.AwaitingApproval), waiting!.View.Phase);

        var second = await runtime.Runs.DecideAsync(runId, "s1", approve: true, "two", "erin", ["operator"], Ct);
        Assert.Equal(ApprovalRefusal.None, second.Refusal);

        var run = await runtime.WaitTerminalAsync(runId);
        AssertCompleted(run, "done");
        await AssertAppliedOnceAsync(runId, "s1", "scale");
        Assert.Equal(["bob", "erin"], (await runtime.Governance.GetApprovalsAsync(runId, "s1", Ct)).Select(a => a.Approver).Order());
        Assert.Equal("approve-large-scale", run.View.Steps.Single().Decision!.Rule);
    }

    [Fact]
    public async Task Scaler_InObserveMode_PlansButNeverCallsTheGateOrTheTool()
    {
        var runtime = await StartRuntimeAsync();
        var runId = await SubmitAsync(runtime, Requests.Parse(new { agent = "scaler", target = Fleet.HealthyTarget(), autonomy = "observe", parameters = new { replicas = 4 } }));

        var run = await runtime.WaitTerminalAsync(runId);

        AssertCompleted(run, "observed");
        Assert.Null(await runtime.Governance.GetDecisionAsync(runId, "s1", Ct));
        Assert.Empty(await Fleet.EffectsOfAsync(runId));
    }
}
