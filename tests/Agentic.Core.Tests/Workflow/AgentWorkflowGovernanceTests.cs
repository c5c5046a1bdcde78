using Agentic.Core.Agents;
using Agentic.Core.Json;
using Agentic.Core.Tools;
using Agentic.Core.Workflow;
using Ids = Agentic.Core.Workflow.AgentWorkflow.Ids;

namespace Agentic.Core.Tests.Workflow;

/// <summary>Guards, replanning, compensation (the saga), approval quorum and escalation, and autonomy in the decider.</summary>
public sealed class AgentWorkflowGovernanceTests
{
    private static RunDriver Diagnosing(AgentWorkflowOptions? options = null, Agentic.Core.Runs.RunRequest? request = null) =>
        RunDriver.Start(request, options).Perceive(healthy: false);

    private static Plan Same(int count) =>
        new("playbook:test@1", [.. Enumerable.Range(1, count).Select(i => Fixtures.Step($"s{i}", "sample.diagnostics", new { probe = 1 }))], false, "Probe the same thing again and again.");

    private static GateDecision Costing(RunDriver run, GateEffect effect, double cost) => Fixtures.Decision(RunDriver.RunId, run.Step, effect, run.Now) with { Cost = cost };

    private static ActResult Undoable(StepState step, int previous) =>
        Fixtures.ActResult(step) with { Compensation = new CompensationCall("sample.scale", AgenticJson.ToElement(new { replicas = previous })) };

    // ---- guards ----

    [Fact]
    public void RepeatedIdenticalCall_TripsTheGuard_BeforeTheNextGate()
    {
        var run = Diagnosing(new AgentWorkflowOptions { MaxIdenticalCalls = 2 }).Plan(Same(5));

        run.Gate(GateEffect.Permit).Act().Gate(GateEffect.Permit).Act();

        Assert.True(run.IsTerminal);
        Assert.Equal(RunPhase.Failed, run.State.Phase);
        Assert.StartsWith("Guard: sample.diagnostics was already called 2 time(s) with the same arguments (sha256:", run.State.FailureReason);
        Assert.EndsWith("at most 2 identical calls are allowed (step s3).", run.State.FailureReason);
        Assert.Equal([StepStatus.Succeeded, StepStatus.Succeeded, StepStatus.Denied, StepStatus.Skipped, StepStatus.Skipped], run.State.Steps.Select(s => s.Status));
        Assert.Equal(2, run.State.ToolCalls);
    }

    [Fact]
    public void DifferentArguments_AreNotIdenticalCalls()
    {
        var run = Diagnosing(new AgentWorkflowOptions { MaxIdenticalCalls = 1 }).Plan(Fixtures.Plan(false, "a", "b", "c"));

        run.Gate(GateEffect.Permit).Act().Gate(GateEffect.Permit).Act().Gate(GateEffect.Permit).Act();

        Assert.Equal(RunPhase.Completed, run.State.Phase);
        Assert.Equal(3, run.State.ToolCalls);
    }

    [Fact]
    public void MaxToolCalls_EndsTheRun_WithTheCountInTheReason()
    {
        var run = Diagnosing(new AgentWorkflowOptions { MaxToolCalls = 2 }).Plan(Fixtures.Plan(false, "a", "b", "c"));

        run.Gate(GateEffect.Permit).Act().Gate(GateEffect.Permit).Act();

        Assert.Equal(RunPhase.Failed, run.State.Phase);
        Assert.Equal("Guard: the run made 2 tool call(s); at most 2 are allowed (step c, sample.diagnostics).", run.State.FailureReason);
    }

    [Fact]
    public void FailedCalls_CountAgainstMaxToolCallsAndBudget()
    {
        var run = Diagnosing().Plan(Fixtures.Plan(false, "a"));

        run.Gate(Costing(run, GateEffect.Permit, 4)).Fail(Ids.Act("a"));

        Assert.Equal((1, 4.0), (run.State.ToolCalls, run.State.BudgetUsed));
    }

    [Fact]
    public void Budget_RefusesTheStepThatWouldExceedIt_AfterTheDecision()
    {
        var run = Diagnosing(new AgentWorkflowOptions { Budget = 10 }).Plan(Fixtures.Plan(false, "a", "b"));

        run.Gate(Costing(run, GateEffect.Permit, 6)).Act();
        run.Gate(Costing(run, GateEffect.Permit, 6));

        Assert.Equal(RunPhase.Failed, run.State.Phase);
        Assert.Equal("Guard: step b (sample.diagnostics) costs 6 unit(s); the run has spent 6 of its budget of 10.", run.State.FailureReason);
        Assert.Equal(StepStatus.Denied, run.State.Steps[1].Status);
        Assert.Equal(6, run.State.BudgetUsed);
    }

    [Fact]
    public void AgentGuards_OverrideTheDeploymentDefaults()
    {
        var request = Fixtures.Request with { Guards = new RunGuards { MaxIdenticalCalls = 1 } };
        var run = Diagnosing(new AgentWorkflowOptions { MaxIdenticalCalls = 10 }, request).Plan(Same(3));

        run.Gate(GateEffect.Permit).Act();

        Assert.Equal(RunPhase.Failed, run.State.Phase);
        Assert.Contains("at most 1 identical calls are allowed (step s2)", run.State.FailureReason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("a/b")]
    [InlineData("a#1")]
    [InlineData("x y")]
    public void StepIds_ThatCanNotBeKeysOrUriSegments_FailThePlan(string id)
    {
        var run = Diagnosing().Plan(new Plan("p", [Fixtures.Step(id, "sample.diagnostics", new { })], false, "bad id"));

        Assert.Equal(RunPhase.Failed, run.State.Phase);
        Assert.StartsWith($"Invalid plan: step id '{id}' is empty, repeated or not 1 to 64 letters", run.State.FailureReason);
    }

    [Theory]
    [InlineData("undo.s1", "undo.")]
    [InlineData("UNDO.s1", "UNDO.")]
    [InlineData("p2.s1", "p2.")]
    [InlineData("P10.restart", "P10.")]
    [InlineData("p1.x", "p1.")]
    public void StepIds_WithAPrefixTheWorkflowGenerates_FailThePlanNamingThePrefix_AndAreNotRenamed(string id, string prefix)
    {
        var run = Diagnosing().Plan(new Plan("p", [Fixtures.Step("s1", "sample.diagnostics", new { }), Fixtures.Step(id, "sample.diagnostics", new { probe = 2 })], false, "collides"));

        Assert.Equal(RunPhase.Failed, run.State.Phase);
        Assert.StartsWith($"Invalid plan: step id '{id}' starts with '{prefix}', which is reserved for ids the workflow generates", run.State.FailureReason);
        Assert.Empty(run.Commands.OfType<CallActivity>());
        // Refused as a whole, never renamed: no step of the plan was taken on, under its id or another.
        Assert.Empty(run.State.Steps);
        Assert.Contains(run.State.Log, e => e.Kind == "failed" && e.Message.Contains(id, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("p2")]
    [InlineData("p.2")]
    [InlineData("px.1")]
    [InlineData("probe.1")]
    [InlineData("undo")]
    [InlineData("undone.1")]
    [InlineData("s1.undo.x")]
    public void StepIds_ThatOnlyResembleTheGeneratedPrefixes_AreAccepted(string id)
    {
        var run = Diagnosing().Plan(new Plan("p", [Fixtures.Step(id, "sample.diagnostics", new { })], false, "fine"));

        Assert.Equal(RunPhase.Gating, run.State.Phase);
        Assert.Equal(id, run.Step.StepId);
    }

    [Fact]
    public void GeneratedStepIds_OfLaterPlansAndCompensations_NeverEqualAnAcceptedPlannerId()
    {
        // Every id a planner may use, in every round, with every compensation: all distinct by construction.
        var planner = new[] { "s1", "p2", "px.1", "undone", "a.p2.b" };
        var generated = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var round in Enumerable.Range(1, 12))
        {
            foreach (var id in planner)
            {
                Assert.Null(AgentWorkflow.ReservedStepIdPrefix(id));
                var step = (round == 1 ? "" : $"p{round}.") + id;
                Assert.True(generated.Add(step), step);
                Assert.True(generated.Add(Ids.Undo(step)), Ids.Undo(step));
            }
        }
        Assert.All(generated.Where(g => g.Contains('.', StringComparison.Ordinal) && !planner.Contains(g)), g => Assert.NotNull(AgentWorkflow.ReservedStepIdPrefix(g)));
    }

    // ---- replanning ----

    [Fact]
    public void FailedPostCondition_AsksForANewPlan_WhileThePlanGuardAllows()
    {
        var run = Diagnosing(new AgentWorkflowOptions { MaxPlans = 2 }).Plan(Fixtures.Plan(true, "s1"));
        run.Gate(GateEffect.Permit).Act().Verify(healthy: false);

        Assert.Equal(RunPhase.Planning, run.State.Phase);
        var input = run.Input<PlanInput>();
        Assert.Equal((2, false), (input.Round, input.Observation.Healthy));
        Assert.Equal([Ids.PlanFor(2), Ids.Deadline], run.CommandIds);

        run.Complete(Ids.PlanFor(2), Fixtures.Plan(true, "s1"));
        Assert.Equal("p2.s1", run.Step.StepId);
        run.Gate(GateEffect.Permit).Act();
        Assert.Equal([Ids.VerifyFor(2), Ids.Deadline], run.CommandIds);
        run.Complete(Ids.VerifyFor(2), Fixtures.Observation(healthy: false, run.Now));

        Assert.Equal(RunPhase.Failed, run.State.Phase);
        Assert.Equal("Post-condition not met: target still degraded after 2 plan(s), the most this run may make.", run.State.FailureReason);
    }

    [Fact]
    public void APlannerThatRepeatsItselfForever_IsStoppedByTheIdenticalCallGuard()
    {
        var run = Diagnosing(new AgentWorkflowOptions { MaxPlans = 100, MaxIdenticalCalls = 3 });
        var rounds = 0;
        while (!run.IsTerminal && rounds++ < 100)
        {
            run.Complete(Ids.PlanFor(run.State.Plans + 1), Same(1) with { ExpectHealthy = true });
            if (run.IsTerminal)
            {
                break;
            }
            run.Gate(GateEffect.Permit).Act().Complete(Ids.VerifyFor(run.State.Plans), Fixtures.Observation(healthy: false, run.Now));
        }

        Assert.Equal(RunPhase.Failed, run.State.Phase);
        Assert.Equal(4, run.State.Plans);
        Assert.Equal(3, run.State.ToolCalls);
        Assert.StartsWith("Guard: sample.diagnostics was already called 3 time(s) with the same arguments", run.State.FailureReason);
    }

    // ---- compensation ----

    [Fact]
    public void ALaterStepFailing_UndoesTheCompletedReversibleSteps_InReverseOrder_EachGated()
    {
        var plan = new Plan("p", [Fixtures.Step("s1", "sample.scale", new { replicas = 5 }), Fixtures.Step("s2", "sample.scale", new { replicas = 8 }), Fixtures.Step("s3", "sample.restart", new { reason = "x" })], false, "scale twice, restart");
        var run = Diagnosing().Plan(plan);
        run.Gate(GateEffect.Permit).Complete(Ids.Act("s1"), Undoable(run.Step, 2));
        run.Gate(GateEffect.Permit).Complete(Ids.Act("s2"), Undoable(run.Step, 5));
        run.Gate(GateEffect.Permit).Fail(Ids.Act("s3"), "ToolException", "restart answered 500");

        Assert.Equal(RunPhase.Gating, run.State.Phase);
        Assert.Equal(("undo.s2", "s2"), (run.Step.StepId, run.Step.CompensationOf));
        Assert.True(run.Input<GateInput>().Compensation);
        Assert.Equal(AgenticJson.Digest(AgenticJson.ToElement(new { replicas = 5 })), run.Step.ArgsDigest);
        run.Gate(GateEffect.Permit).Act();
        Assert.Equal("undo.s1", run.Step.StepId);
        run.Gate(GateEffect.Permit).Act();

        Assert.Equal(RunPhase.Failed, run.State.Phase);
        Assert.Equal("Step s3 (sample.restart) failed: ToolException: restart answered 500 Compensated: undid 2 step(s) (s2, s1) in reverse order.", run.State.FailureReason);
        Assert.Equal([StepStatus.Compensated, StepStatus.Compensated, StepStatus.Failed, StepStatus.Succeeded, StepStatus.Succeeded], run.State.Steps.Select(s => s.Status));
        Assert.Contains(run.State.Log, e => e.Kind == "compensating");
        Assert.Equal(2, run.State.Log.Count(e => e.Kind == "compensated"));
    }

    [Fact]
    public void ACompensationTheGateForbids_EndsTheRun_NamingWhatWasNotUndone()
    {
        var plan = new Plan("p", [Fixtures.Step("s1", "sample.scale", new { replicas = 5 }), Fixtures.Step("s2", "sample.scale", new { replicas = 8 }), Fixtures.Step("s3", "sample.restart", new { reason = "x" })], false, "p");
        var run = Diagnosing().Plan(plan);
        run.Gate(GateEffect.Permit).Complete(Ids.Act("s1"), Undoable(run.Step, 2));
        run.Gate(GateEffect.Permit).Complete(Ids.Act("s2"), Undoable(run.Step, 5));
        run.Gate(GateEffect.Forbid);

        run.Gate(GateEffect.Forbid);

        Assert.Equal(RunPhase.Failed, run.State.Phase);
        Assert.StartsWith("Step s3 (sample.restart) forbidden by baseline rule 'default-deny': sample.restart was judged. Compensation incomplete: Step undo.s2 (sample.scale) forbidden", run.State.FailureReason);
        Assert.EndsWith("Not undone: s2, s1.", run.State.FailureReason);
    }

    [Fact]
    public void AFailedPostCondition_UndoesTheReversibleSteps_AndStepsWithoutACompensationStay()
    {
        var plan = new Plan("p", [Fixtures.Step("s1", "sample.diagnostics", new { }), Fixtures.Step("s2", "sample.scale", new { replicas = 9 })], true, "p");
        var run = Diagnosing().Plan(plan);
        run.Gate(GateEffect.Permit).Act();
        run.Gate(GateEffect.Permit).Complete(Ids.Act("s2"), Undoable(run.Step, 3));
        run.Verify(healthy: false);

        Assert.Equal("undo.s2", run.Step.StepId);
        run.Gate(GateEffect.Permit).Act();

        Assert.Equal(RunPhase.Failed, run.State.Phase);
        Assert.Equal("Post-condition not met: target still degraded after the plan ran. Compensated: undid 1 step(s) (s2) in reverse order.", run.State.FailureReason);
        Assert.Equal(StepStatus.Succeeded, run.State.Steps[0].Status);
    }

    [Fact]
    public void Terminating_DoesNotCompensate()
    {
        var plan = new Plan("p", [Fixtures.Step("s1", "sample.scale", new { replicas = 5 }), Fixtures.Step("s2", "sample.restart", new { reason = "x" })], false, "p");
        var run = Diagnosing().Plan(plan);
        run.Gate(GateEffect.Permit).Complete(Ids.Act("s1"), Undoable(run.Step, 2));

        run.Terminate();

        Assert.Equal(RunPhase.Terminated, run.State.Phase);
        Assert.DoesNotContain(run.State.Steps, s => s.CompensationOf is not null);
    }

    // ---- approvals: quorum and escalation ----

    private static RunDriver AwaitingTwo(string? escalateTo = null, TimeSpan? timeout = null)
    {
        var run = RunDriver.GatingRestart();
        var decision = Fixtures.Decision(RunDriver.RunId, run.Step, GateEffect.RequireApproval, run.Now) with
        {
            Approval = new ApprovalTerms("operator", 2, timeout ?? TimeSpan.FromMinutes(30), escalateTo),
        };
        return run.Gate(decision);
    }

    [Fact]
    public void Quorum_NeedsDistinctApprovers_ThenActs()
    {
        var run = AwaitingTwo();
        Assert.Equal(run.Now.AddMinutes(30), run.Step.ApprovalDeadline); // the policy's 30 min, under the request's hour

        run.Approve("bob");
        var once = run.State;
        run.ApprovalEvent(AgenticJson.ToElement(once.Steps[once.Current].Approvals[0])); // the same answer delivered again
        Assert.Same(once, run.State);
        run.Reject("BOB");
        Assert.Equal(RunPhase.AwaitingApproval, run.State.Phase);
        Assert.Contains("Ignored a second answer by BOB: a quorum counts distinct approvers.", run.State.Log.Select(e => e.Message));
        Assert.Equal(["bob"], Agentic.Core.Runs.RunView.Pending(run.State)!.ApprovedBy!);

        run.Approve("erin");
        Assert.Equal(RunPhase.Acting, run.State.Phase);
        Assert.Equal(["bob", "erin"], run.Step.Approvals.Select(a => a.Approver));
        Assert.Contains("sample.restart approved by erin (2 of 2): looks right", run.State.Log.Select(e => e.Message));
    }

    [Theory]
    [InlineData("\uFF42\uFF4F\uFF42")] // full width
    [InlineData("Bo\u200Bb")] // a zero-width space
    [InlineData("BOB")]
    public void Quorum_AVariantOfAnApproversId_IsNotASecondApprover(string variant)
    {
        var run = AwaitingTwo();

        run.Approve("bob");
        run.Approve(variant);

        Assert.Equal(RunPhase.AwaitingApproval, run.State.Phase);
        Assert.Equal(["bob"], run.Step.Approvals.Select(a => a.Approver));
    }

    [Theory]
    [InlineData("ALICE")]
    [InlineData("\uFF41\uFF4C\uFF49\uFF43\uFF45")]
    public void Approval_ByAVariantOfTheRequestersId_IsIgnored(string variant)
    {
        var run = AwaitingTwo();
        Assert.Equal("alice", run.State.Request.Principal);

        run.Approve(variant);

        Assert.Empty(run.Step.Approvals);
        Assert.Equal(RunPhase.AwaitingApproval, run.State.Phase);
    }

    [Fact]
    public void AnApprovalForAnotherToolContract_IsIgnored()
    {
        var run = RunDriver.GatingRestart();
        run.Gate(Fixtures.Decision(RunDriver.RunId, run.Step, GateEffect.RequireApproval, run.Now) with { ToolHash = "sha256:current" });
        var stale = Fixtures.Approval(run.Step.ArgsDigest, run.Now, "bob") with { ToolHash = "sha256:previous" };

        run.ApprovalEvent(AgenticJson.ToElement(stale));

        Assert.Equal(RunPhase.AwaitingApproval, run.State.Phase);
        Assert.Contains("Ignored an approval by bob: it was given for another contract of sample.restart (sha256:previous, the decision covers sha256:current).", run.State.Log.Select(e => e.Message));
    }

    [Fact]
    public void Quorum_OneRejection_RejectsTheStep()
    {
        var run = AwaitingTwo().Approve("bob").Reject("erin");

        Assert.Equal(RunPhase.Failed, run.State.Phase);
        Assert.Equal("Step s2 (sample.restart) rejected by erin: too risky", run.State.FailureReason);
    }

    [Fact]
    public void Timeout_EscalatesOnce_ToTheNamedRole_WithAFreshDeadline_ThenRejects()
    {
        var run = AwaitingTwo(escalateTo: "admin").Approve("bob");

        run.Fire(Ids.ApprovalTimeout("s2"));

        Assert.Equal(RunPhase.AwaitingApproval, run.State.Phase);
        Assert.Equal(("admin", true), (run.Step.RequiredRole, run.Step.Escalated));
        Assert.Empty(run.Step.Approvals);
        Assert.Equal(run.Now.AddMinutes(30), run.Step.ApprovalDeadline);
        Assert.Contains(Ids.EscalatedApprovalTimeout("s2"), run.CommandIds);
        Assert.Equal("admin", Agentic.Core.Runs.RunView.Pending(run.State)!.ApproverRole);

        run.Approve("frank"); // an operator, not an admin
        Assert.Contains("Ignored an approval by frank: role 'admin' is required.", run.State.Log.Select(e => e.Message));

        run.Fire(Ids.ApprovalTimeout("s2")); // the first timer again: stale
        Assert.Equal(RunPhase.AwaitingApproval, run.State.Phase);
        run.Fire(Ids.EscalatedApprovalTimeout("s2"));

        Assert.Equal(RunPhase.Failed, run.State.Phase);
        Assert.Equal("Approval for step s2 (sample.restart) timed out after 30 min (escalated once); the step is rejected.", run.State.FailureReason);
    }

    [Fact]
    public void Escalated_ApproversWithTheNewRole_CompleteTheQuorum()
    {
        var run = AwaitingTwo(escalateTo: "admin").Fire(Ids.ApprovalTimeout("s2"));

        run.Approve("gina", roles: ["admin"]).Approve("hank", roles: ["admin"]);

        Assert.Equal(RunPhase.Acting, run.State.Phase);
    }

    [Fact]
    public void TheRequestsApprovalTimeout_CapsThePolicys()
    {
        var request = Fixtures.Request with { ApprovalTimeout = TimeSpan.FromMinutes(5) };
        var run = RunDriver.Start(request).Perceive(healthy: false).Plan(Fixtures.Remediation).Gate(GateEffect.Permit).Act();
        run.Gate(Fixtures.Decision(RunDriver.RunId, run.Step, GateEffect.RequireApproval, run.Now) with { Approval = new ApprovalTerms("operator", 1, TimeSpan.FromMinutes(30)) });

        Assert.Equal(run.Now.AddMinutes(5), run.Step.ApprovalDeadline);
    }

    // ---- autonomy ----

    [Fact]
    public void Observe_PlansAndNeverActs()
    {
        var run = RunDriver.Start(Fixtures.Request with { Autonomy = Autonomy.Observe }).Perceive(healthy: false).Plan(Fixtures.Remediation);

        Assert.Equal(RunPhase.Completed, run.State.Phase);
        Assert.Equal("observed", run.State.Output!.Outcome);
        Assert.Equal("Autonomy 'observe': planned 2 step(s), executed none.", run.State.Output.Summary);
        Assert.All(run.State.Steps, s => Assert.Equal(StepStatus.Skipped, s.Status));
        Assert.Equal(0, run.State.ToolCalls);
    }

    [Fact]
    public void TheGateInput_CarriesAutonomyRolesTargetAndBudget()
    {
        var request = Fixtures.Request with { Autonomy = Autonomy.Suggest, PrincipalRoles = ["dev"] };
        var run = RunDriver.Start(request).Perceive(healthy: false).Plan(Fixtures.Remediation);

        var input = run.Input<GateInput>();

        Assert.Equal((Autonomy.Suggest, "dev", Fixtures.Target, 0.0, false), (input.Autonomy, Assert.Single(input.PrincipalRoles!), input.Target, input.BudgetUsed, input.Compensation));
    }
}
