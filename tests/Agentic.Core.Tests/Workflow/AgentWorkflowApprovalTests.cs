using System.Text.Json;
using System.Text.Json.Nodes;
using Agentic.Core.Agents;
using Agentic.Core.Json;
using Agentic.Core.Workflow;
using Ids = Agentic.Core.Workflow.AgentWorkflow.Ids;

namespace Agentic.Core.Tests.Workflow;

/// <summary>The approval wait: who may approve, what an approval is bound to, and what a timeout means.</summary>
public sealed class AgentWorkflowApprovalTests
{
    [Fact]
    public void RequireApproval_WaitsForTheStepsApprovalEvent_WithApprovalTimeoutAndDeadlineTimers()
    {
        var run = RunDriver.AwaitingApproval();

        Assert.Equal(RunPhase.AwaitingApproval, run.State.Phase);
        Assert.Equal(StepStatus.AwaitingApproval, run.Step.Status);
        Assert.Equal(GateEffect.RequireApproval, run.Step.Decision?.Effect);
        var until = run.Now + Fixtures.Request.ApprovalTimeout;
        Assert.Equal(until, run.Step.ApprovalDeadline);
        Assert.Equal(
            Fixtures.Json(
            [
                new WaitForEvent("s2/approval", "approval:s2"),
                new StartTimer("s2/approval-timeout", until),
                new StartTimer(Ids.Deadline, run.State.Deadline),
            ]),
            Fixtures.Json(run.Commands));
        Assert.DoesNotContain(run.Commands, c => c is CallActivity);
        Assert.Equal($"sample.restart needs approval by role 'operator' before {until:u}.", run.State.Log[^1].Message);
    }

    [Fact]
    public void Approval_Approved_MovesToActing_AndTheActCarriesTheApproval()
    {
        var run = RunDriver.ActingRestart();

        Assert.Equal(RunPhase.Acting, run.State.Phase);
        Assert.Equal(StepStatus.Acting, run.Step.Status);
        Assert.Equal(Fixtures.Approver, run.Step.Approval?.Approver);
        Assert.Equal(run.Now, run.State.UpdatedAt);
        Assert.Equal([Ids.Act("s2"), Ids.Deadline], run.CommandIds);
        var input = run.Input<ActInput>();
        Assert.Equal(run.Step.Decision, input.Decision);
        Assert.True(input.Approval?.Approved);
        Assert.Equal(run.Step.ArgsDigest, input.Approval?.ArgsDigest);
        Assert.Contains(run.State.Log, e => e.Kind == "approved" && e.StepId == "s2" && e.Message == "sample.restart approved by bob: looks right");
    }

    [Fact]
    public void Approval_WithRequiredRoleInOtherCase_IsAccepted()
    {
        var run = RunDriver.AwaitingApproval().Approve(roles: ["viewer", "OPERATOR"]);

        Assert.Equal(RunPhase.Acting, run.State.Phase);
    }

    [Fact]
    public void Approval_Rejected_FailsTheRun_NamingTheApprover()
    {
        var run = RunDriver.AwaitingApproval().Reject();

        RunAssert.Failed(run, "Step s2 (sample.restart) rejected by bob: too risky");
        Assert.Equal(StepStatus.Rejected, run.Step.Status);
        Assert.Equal("Rejected by bob", run.Step.Error);
        Assert.False(run.Step.Approval?.Approved);
        Assert.Equal("rejected", run.State.Log[^2].Kind);
    }

    [Fact]
    public void Approval_RejectedWithBlankComment_ReasonHasNoDanglingColon()
    {
        var run = RunDriver.AwaitingApproval().Reject(comment: "  ");

        Assert.Equal("Step s2 (sample.restart) rejected by bob", run.State.FailureReason);
    }

    [Fact]
    public void ApprovalTimeout_RejectsTheStep_AndNeverActs()
    {
        var run = RunDriver.AwaitingApproval().Fire(Ids.ApprovalTimeout("s2"));

        RunAssert.Failed(run, "Approval for step s2 (sample.restart) timed out after 60 min; the step is rejected.");
        Assert.Equal(StepStatus.Rejected, run.Step.Status);
        Assert.Equal("Approval timed out.", run.Step.Error);
        Assert.Null(run.Step.Approval);
    }

    [Fact]
    public void ApprovalTimeout_ShortTimeout_IsReportedInSeconds()
    {
        var request = Fixtures.Request with { ApprovalTimeout = TimeSpan.FromSeconds(90) };
        var run = RunDriver.Start(request).Perceive(healthy: false).Plan(Fixtures.Remediation)
            .Gate(GateEffect.RequireApproval).Fire(Ids.ApprovalTimeout("s1"));

        Assert.Equal("Approval for step s1 (sample.diagnostics) timed out after 90 s; the step is rejected.", run.State.FailureReason);
    }

    [Fact]
    public void ApprovalTimeout_AfterApprovalWasAccepted_IsStaleAndIgnored()
    {
        var run = RunDriver.ActingRestart();
        var before = run.State;

        run.Fire(Ids.ApprovalTimeout("s2"));

        Assert.Same(before, run.State);
    }

    [Theory]
    [InlineData(Fixtures.Principal)]
    [InlineData("ALICE")]
    public void Approval_ByRequester_IsIgnoredAndWaitContinues(string approver)
    {
        AssertIgnoredAndWaitContinues(
            r => r.Approve(approver: approver),
            $"Ignored an approval by {approver}: the requester can not approve their own action.");
    }

    [Fact]
    public void Rejection_ByRequester_IsIgnoredAndWaitContinues()
    {
        AssertIgnoredAndWaitContinues(
            r => r.Reject(approver: Fixtures.Principal),
            "Ignored an approval by alice: the requester can not approve their own action.");
    }

    [Fact]
    public void Approval_WithoutRequiredRole_IsIgnoredAndWaitContinues()
    {
        AssertIgnoredAndWaitContinues(
            r => r.Approve(roles: ["viewer"]),
            "Ignored an approval by bob: role 'operator' is required.");
    }

    [Fact]
    public void Approval_ForOtherArguments_IsIgnoredAndWaitContinues()
    {
        var other = AgenticJson.Digest(AgenticJson.ToElement(new { reason = "something else" }));

        AssertIgnoredAndWaitContinues(
            r => r.Approve(argsDigest: other),
            $"Ignored an approval by bob: it was given for arguments {other[..19]}, the step has ");
    }

    [Theory]
    [InlineData("maybe")]
    [InlineData("APPROVE")]
    [InlineData("")]
    public void Approval_WithUnknownDecision_IsIgnoredAndWaitContinues(string decision)
    {
        AssertIgnoredAndWaitContinues(
            r => r.Approve(decision: decision),
            $"Ignored an approval with decision '{decision}'.");
    }

    [Fact]
    public void Approval_WithoutDecision_IsIgnoredAndWaitContinues()
    {
        AssertIgnoredAndWaitContinues(r => r.ApprovalEvent(TestJson.Parse("{}")), "Ignored an approval with decision ''.");
    }

    [Theory]
    [InlineData("\"approve\"")]
    [InlineData("null")]
    [InlineData("[]")]
    [InlineData("""{"decision":1}""")]
    [InlineData("""{"decision":"approve","approver":"bob","roles":"operator","argsDigest":"x","decidedAt":"2025-01-01T00:00:00Z"}""")]
    [InlineData("""{"decision":"approve","approver":"bob","roles":["operator"],"argsDigest":"x","decidedAt":"yesterday"}""")]
    public void Approval_Malformed_IsIgnoredAndWaitContinues(string payload)
    {
        AssertIgnoredAndWaitContinues(r => r.ApprovalEvent(TestJson.Parse(payload)), "Ignored a malformed approval: ");
    }

    [Fact]
    public void Approval_WithoutComment_IsAccepted()
    {
        var run = RunDriver.AwaitingApproval().Approve(comment: null);

        Assert.Equal(RunPhase.Acting, run.State.Phase);
        Assert.Equal("sample.restart approved by bob", run.State.Log[^1].Message);
        Assert.Null(run.Input<ActInput>().Approval?.Comment);
    }

    [Fact]
    public void Approval_AfterIgnoredAttempts_IsStillAccepted()
    {
        var run = RunDriver.AwaitingApproval()
            .Approve(approver: Fixtures.Principal)
            .Approve(roles: ["viewer"])
            .ApprovalEvent(TestJson.Parse("[]"))
            .Approve();

        Assert.Equal(RunPhase.Acting, run.State.Phase);
        Assert.Equal(3, run.State.Log.Count(e => e.Kind == "approval-refused"));
    }

    [Fact]
    public void Approval_ForAnotherStep_IsStaleAndIgnored()
    {
        var run = RunDriver.AwaitingApproval();
        var before = run.State;

        run.Raise(Ids.ApprovalEvent("s1"), AgenticJson.ToElement(Fixtures.Approval(run.State.Steps[0].ArgsDigest, run.Now)));

        Assert.Same(before, run.State);
    }

    [Fact]
    public void Approval_WhileNotAwaitingOne_IsStaleAndIgnored()
    {
        var run = RunDriver.GatingRestart();
        var before = run.State;

        run.Raise(Ids.ApprovalEvent("s2"), AgenticJson.ToElement(Fixtures.Approval(run.Step.ArgsDigest, run.Now)));

        Assert.Same(before, run.State);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("null")]
    public void Approval_WithoutRoles_IsIgnoredAndWaitContinues(string? roles)
    {
        AssertIgnoredAndWaitContinues(
            r => r.ApprovalEvent(ApprovalWith(r, "roles", roles)),
            "Ignored an approval by bob: role 'operator' is required.");
    }

    [Theory]
    [InlineData(null)]
    [InlineData("null")]
    public void Approval_WithoutArgsDigest_IsIgnoredAndWaitContinues(string? argsDigest)
    {
        AssertIgnoredAndWaitContinues(
            r => r.ApprovalEvent(ApprovalWith(r, "argsDigest", argsDigest)),
            $"Ignored an approval by bob: it was given for arguments none, the step has {RunDriver.AwaitingApproval().Step.ArgsDigest[..19]}.");
    }

    [Theory]
    [InlineData(null)]
    [InlineData("null")]
    [InlineData("\"\"")]
    [InlineData("\"   \"")]
    public void Approval_WithoutApproverIdentity_IsIgnored(string? approver)
    {
        AssertIgnoredAndWaitContinues(
            r => r.ApprovalEvent(ApprovalWith(r, "approver", approver)),
            "Ignored an approval without an approver identity.");
    }

    [Fact]
    public void Approval_AfterApprovalDeadline_IsNotAccepted()
    {
        var run = AwaitingApprovalWithTimeout(TimeSpan.FromSeconds(1));
        var until = run.Step.ApprovalDeadline!.Value;
        run.Tick(); // the clock reaches the approval deadline; the next event arrives a second after it

        // Decided (and stamped) before the deadline, but it is the arrival time that counts.
        AssertIgnoredAndWaitContinues(
            r => r.ApprovalEvent(AgenticJson.ToElement(Fixtures.Approval(r.Step.ArgsDigest, until.AddMinutes(-1)))),
            $"Ignored an approval by bob: it arrived after the approval deadline {until:u}.",
            run);
        Assert.True(run.State.UpdatedAt > until);

        // The wait goes on, and the approval-timeout timer is what ends it.
        run.Fire(Ids.ApprovalTimeout("s2"));

        RunAssert.Failed(run, "Approval for step s2 (sample.restart) timed out after 1 s; the step is rejected.");
        Assert.Null(run.Step.Approval);
    }

    [Fact]
    public void Approval_AtTheApprovalDeadline_IsStillAccepted()
    {
        var run = AwaitingApprovalWithTimeout(TimeSpan.FromSeconds(1));
        var until = run.Step.ApprovalDeadline!.Value;

        run.Approve();

        Assert.Equal(until, run.State.UpdatedAt);
        Assert.Equal(RunPhase.Acting, run.State.Phase);
    }

    /// <summary>The restart (s2) awaiting approval, in a run whose approvals time out after <paramref name="timeout"/>.</summary>
    private static RunDriver AwaitingApprovalWithTimeout(TimeSpan timeout) =>
        RunDriver.Start(Fixtures.Request with { ApprovalTimeout = timeout })
            .Perceive(healthy: false).Plan(Fixtures.Remediation)
            .Gate(GateEffect.Permit).Act()
            .Gate(GateEffect.RequireApproval);

    /// <summary>
    /// A valid approval of the step in progress, with <paramref name="property"/> replaced by the JSON
    /// <paramref name="json"/>, or left out when <paramref name="json"/> is <c>null</c>.
    /// </summary>
    private static JsonElement ApprovalWith(RunDriver run, string property, string? json)
    {
        var approval = JsonSerializer.SerializeToNode(Fixtures.Approval(run.Step.ArgsDigest, run.Now), AgenticJson.Options)!.AsObject();
        Assert.True(approval.Remove(property), $"The approval has no '{property}' to replace.");
        if (json is not null)
        {
            approval[property] = JsonNode.Parse(json);
        }
        return TestJson.Parse(approval.ToJsonString());
    }

    /// <summary>A refused approval is logged against the step, ends nothing, and leaves the same wait outstanding.</summary>
    private static void AssertIgnoredAndWaitContinues(Func<RunDriver, RunDriver> send, string messageStart, RunDriver? awaiting = null)
    {
        var run = awaiting ?? RunDriver.AwaitingApproval();
        var commands = Fixtures.Json(run.Commands);
        var steps = run.State.Steps;
        var logged = run.State.Log.Length;

        send(run);

        Assert.Equal(RunPhase.AwaitingApproval, run.State.Phase);
        Assert.Equal(StepStatus.AwaitingApproval, run.Step.Status);
        Assert.Null(run.Step.Approval);
        Assert.Equal(steps, run.State.Steps);
        Assert.Equal(run.Now, run.State.UpdatedAt);
        Assert.Equal(commands, Fixtures.Json(run.Commands));
        Assert.Equal(logged + 1, run.State.Log.Length);
        var entry = run.State.Log[^1];
        Assert.Equal("approval-refused", entry.Kind);
        Assert.Equal("s2", entry.StepId);
        Assert.StartsWith(messageStart, entry.Message, StringComparison.Ordinal);
    }
}
