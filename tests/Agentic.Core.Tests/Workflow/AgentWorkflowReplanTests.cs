using Agentic.Core.Agents;
using Agentic.Core.Json;
using Agentic.Core.Planning;
using Agentic.Core.Tools;
using Agentic.Core.Workflow;
using Ids = Agentic.Core.Workflow.AgentWorkflow.Ids;

namespace Agentic.Core.Tests.Workflow;

/// <summary>
/// A run whose planner is asked again after each action (<see cref="ReplanMode.AfterEachAction"/>), within the run's guards;
/// and the drift the decider notes for the run's end to record (rejections, approval timeouts, failed post-conditions).
/// </summary>
public sealed class AgentWorkflowReplanTests
{
    private static readonly Agentic.Core.Runs.RunRequest StepByStep = Fixtures.Request with
    {
        Agent = "task",
        Replan = ReplanMode.AfterEachAction,
        Guards = new RunGuards { MaxPlans = 6 },
    };

    private static RunDriver Start(RunGuards? guards = null) =>
        RunDriver.Start(guards is null ? StepByStep : StepByStep with { Guards = guards }).Perceive(healthy: true);

    private static ModelPlanning Usage(double cost = 0.01) =>
        new("default", "scripted-model", "task-planner", "2", "sha256:" + new string('a', 64), ["sample.diagnostics", "sample.scale"], 1, 500, 100, cost,
            Tainted: true, ["request.goal"], []);

    private static Plan Model(string rationale, params PlanStep[] steps) =>
        new("llm:task-planner@2", steps, ExpectHealthy: false, rationale) { Model = Usage(), AgentVersion = "2" };

    private static void Completed(RunDriver run, string outcome)
    {
        Assert.Equal(RunPhase.Completed, run.State.Phase);
        Assert.Equal(outcome, run.State.Output?.Outcome);
        Assert.Equal(Fixtures.Json([new CompleteRun("complete", AgenticJson.ToElement(run.State.Output))]), Fixtures.Json(run.Commands));
    }

    private static ActResult Output(StepState step, object output) =>
        new(step.Tool, "1.2.0", 200, $"{step.Tool} answered.", AgenticJson.ToElement(output), Replayed: false);

    // ---- asked again after each action ----

    [Fact]
    public void AfterTheFirstAction_ThePlannerIsAskedAgain_WithWhatTheStepDid_AndTheRestOfThePlanIsSuperseded()
    {
        var run = Start();
        run.Complete(Ids.Plan, Model("Look, then scale.", Fixtures.Step("look", "sample.diagnostics", new { }), Fixtures.Step("grow", "sample.scale", new { replicas = 4 })));

        run.Gate(GateEffect.Permit).Complete(Ids.Act("look"), Output(run.Step, new { replicas = 2, message = "pool exhausted" }));

        Assert.Equal(RunPhase.Planning, run.State.Phase);
        Assert.Equal([Ids.PlanFor(2), Ids.Deadline], run.CommandIds);
        var input = run.Input<PlanInput>();
        Assert.Equal(2, input.Round);
        var seen = Assert.Single(input.History!);
        Assert.Equal(("look", "sample.diagnostics", "succeeded", "sample.diagnostics answered."), (seen.StepId, seen.Tool, seen.Status, seen.Summary));
        Assert.Equal(run.State.Steps[0].ArgsDigest, seen.ArgsDigest);
        Assert.Equal(2, seen.Output!.Value.GetProperty("replicas").GetInt32());
        Assert.Equal(AgenticJson.Digest(AgenticJson.ToElement(new { replicas = 2, message = "pool exhausted" })), seen.OutputDigest);
        var grow = run.State.Steps[1];
        Assert.Equal(StepStatus.Skipped, grow.Status);
        Assert.StartsWith("Superseded: the planner is asked again after each action (look ran).", grow.Error, StringComparison.Ordinal);
        Assert.Contains(run.State.Log, e => e.Kind == "replanning" && e.StepId == "look" && e.Message.Contains("plan 2 of at most 6", StringComparison.Ordinal));
        Assert.Equal(1, run.State.ToolCalls);
    }

    [Fact]
    public void LaterPlansStepsGetTheirRoundsPrefix_AndAnEmptyPlanEndsTheRun_WithTheRationaleAsTheOutcome()
    {
        var run = Start();
        run.Complete(Ids.Plan, Model("Look first.", Fixtures.Step("s1", "sample.diagnostics", new { })));
        run.Gate(GateEffect.Permit).Act();
        run.Complete(Ids.PlanFor(2), Model("Scale as the goal asks.", Fixtures.Step("s1", "sample.scale", new { replicas = 5 })));

        Assert.Equal("p2.s1", run.Step.StepId);
        Assert.Equal(2, run.Step.Round);
        Assert.Equal([Ids.Gate("p2.s1"), Ids.Deadline], run.CommandIds);
        run.Gate(GateEffect.Permit).Act();
        Assert.Equal([Ids.PlanFor(3), Ids.Deadline], run.CommandIds);
        Assert.Equal(["s1", "p2.s1"], run.Input<PlanInput>().History!.Select(h => h.StepId));

        run.Complete(Ids.PlanFor(3), Model("Scaled the service to 5 replicas after checking its diagnostics."));

        Completed(run, "done");
        Assert.Equal("Scaled the service to 5 replicas after checking its diagnostics.", run.State.Output!.Summary);
        Assert.Equal(2, run.State.Output.StepsSucceeded);
        Assert.Equal(3, run.State.Plans);
        // Every model call is paid for, the plan that said "done" too.
        Assert.Equal(2 + 3 * 0.01, run.State.BudgetUsed, 9);
    }

    [Fact]
    public void AFirstPlanWithoutSteps_IsNothingToDo_AsForAPlanAskedOnce()
    {
        var run = Start();

        run.Complete(Ids.Plan, Model("The service is healthy; nothing to do."));

        Completed(run, "no-action");
        Assert.Equal("Nothing to do: The service is healthy; nothing to do.", run.State.Output!.Summary);
    }

    [Fact]
    public void AModelThatRepeatsACallForever_IsEndedByTheIdenticalCallGuard_WithItsReason()
    {
        var run = Start(new RunGuards { MaxPlans = 100, MaxIdenticalCalls = 3 });
        var rounds = 0;
        while (!run.IsTerminal && rounds++ < 100)
        {
            run.Complete(Ids.PlanFor(run.State.Plans + 1), Model("Look again.", Fixtures.Step("look", "sample.diagnostics", new { })));
            if (!run.IsTerminal)
            {
                run.Gate(GateEffect.Permit).Act();
            }
        }

        Assert.Equal(RunPhase.Failed, run.State.Phase);
        Assert.Equal((4, 3), (run.State.Plans, run.State.ToolCalls));
        Assert.StartsWith("Guard: sample.diagnostics was already called 3 time(s) with the same arguments", run.State.FailureReason, StringComparison.Ordinal);
        Assert.EndsWith("(step p4.look).", run.State.FailureReason, StringComparison.Ordinal);
    }

    [Fact]
    public void APlannerThatNeverSaysDone_IsEndedByThePlanGuard_AndItsReversibleStepsAreUndone()
    {
        var run = Start(new RunGuards { MaxPlans = 2 });
        run.Complete(Ids.Plan, Model("Scale.", Fixtures.Step("up", "sample.scale", new { replicas = 4 })));
        run.Gate(GateEffect.Permit).Complete(Ids.Act("up"), Fixtures.ActResult(run.Step) with { Compensation = new CompensationCall("sample.scale", AgenticJson.ToElement(new { replicas = 2 })) });
        run.Complete(Ids.PlanFor(2), Model("Scale more.", Fixtures.Step("up", "sample.scale", new { replicas = 6 })));
        run.Gate(GateEffect.Permit).Complete(Ids.Act("p2.up"), Fixtures.ActResult(run.Step) with { Compensation = new CompensationCall("sample.scale", AgenticJson.ToElement(new { replicas = 4 })) });

        Assert.Equal(RunPhase.Gating, run.State.Phase);
        Assert.Equal(("undo.p2.up", "p2.up"), (run.Step.StepId, run.Step.CompensationOf));
        Assert.DoesNotContain(Ids.PlanFor(3), run.CommandIds);
        run.Gate(GateEffect.Permit).Act();
        Assert.Equal("undo.up", run.Step.StepId);
        run.Gate(GateEffect.Permit).Act();

        Assert.Equal(RunPhase.Failed, run.State.Phase);
        Assert.StartsWith("Guard: the run made 2 plan(s); at most 2 are allowed, and the planner had not answered that it was done (after step p2.up, sample.scale).", run.State.FailureReason, StringComparison.Ordinal);
        Assert.EndsWith("Compensated: undid 2 step(s) (p2.up, up) in reverse order.", run.State.FailureReason, StringComparison.Ordinal);
    }

    [Fact]
    public void APlanAfterAnActionThatFails_EndsTheRun_UndoingWhatTheActionsDid()
    {
        var run = Start();
        run.Complete(Ids.Plan, Model("Scale.", Fixtures.Step("up", "sample.scale", new { replicas = 4 })));
        run.Gate(GateEffect.Permit).Complete(Ids.Act("up"), Fixtures.ActResult(run.Step) with { Compensation = new CompensationCall("sample.scale", AgenticJson.ToElement(new { replicas = 2 })) });

        run.Fail(Ids.PlanFor(2), "NonRetryableException", "The model's plan was refused 3 times: not JSON");

        Assert.Equal(("undo.up", RunPhase.Gating), (run.Step.StepId, run.State.Phase));
        run.Gate(GateEffect.Permit).Act();
        RunAssert.Failed(run, "Plan.2 failed: NonRetryableException: The model's plan was refused 3 times: not JSON Compensated: undid 1 step(s) (up) in reverse order.");
    }

    [Fact]
    public void ARejectedStep_EndsTheRun_AsInAPlanAskedOnce()
    {
        var run = Start();
        run.Complete(Ids.Plan, Model("Restart.", Fixtures.Step("fix", "sample.restart", new { reason = "asked" })));

        run.Gate(GateEffect.RequireApproval).Reject();

        RunAssert.Failed(run, "Step fix (sample.restart) rejected by bob: too risky");
        Assert.DoesNotContain(run.Commands, c => c.Id.StartsWith(Ids.Plan, StringComparison.Ordinal));
    }

    [Fact]
    public void OutputsOverTheCap_AreGivenToThePlannerAsTheirDigestAndSize()
    {
        var run = Start();
        run.Complete(Ids.Plan, Model("Look.", Fixtures.Step("look", "sample.diagnostics", new { })));
        var big = new { log = new string('x', StepOutcome.MaxOutputChars) };

        run.Gate(GateEffect.Permit).Complete(Ids.Act("look"), Output(run.Step, big));

        var seen = Assert.Single(run.Input<PlanInput>().History!);
        Assert.Null(seen.Output);
        Assert.Equal(AgenticJson.Digest(AgenticJson.ToElement(big)), seen.OutputDigest);
        Assert.Equal(AgenticJson.ToElement(big).GetRawText().Length, seen.OutputOmittedChars);
    }

    [Fact]
    public void ARequestWithoutReplan_RunsEveryStepOfItsOnePlan_AndGivesThePlannerNoHistory()
    {
        var run = RunDriver.Start(StepByStep with { Replan = null }).Perceive(healthy: true);
        Assert.Null(run.Input<PlanInput>().History);
        run.Complete(Ids.Plan, Model("Look, then scale.", Fixtures.Step("look", "sample.diagnostics", new { }), Fixtures.Step("grow", "sample.scale", new { replicas = 4 })));

        run.Gate(GateEffect.Permit).Act();

        Assert.Equal(("grow", RunPhase.Gating), (run.Step.StepId, run.State.Phase));
        run.Gate(GateEffect.Permit).Act();
        Completed(run, "done");
        Assert.Equal(1, run.State.Plans);
    }

    // ---- what the gate is told about the step's planner ----

    [Fact]
    public void AModelsStep_ReachesTheGateWithItsPlannerPromptAndModel_APlaybooksWithoutThem()
    {
        var run = Start();
        run.Complete(Ids.Plan, Model("Look.", Fixtures.Step("look", "sample.diagnostics", new { })));

        var origin = run.Input<GateInput>().Origin!;

        Assert.Equal(("llm", "llm:task-planner@2", "task-planner", "2", "scripted-model", "2"),
            (origin.PlannerKind, origin.Planner, origin.PromptId, origin.PromptVersion, origin.Model, origin.AgentVersion));
        Assert.Null(RunDriver.GatingDiagnostics().Input<GateInput>().Origin);
    }

    // ---- drift the run's end records ----

    [Fact]
    public void ARejection_IsNotedAsDrift_UnderTheStepsApprovalCommand_WithThePlaybooksOrigin()
    {
        var run = RunDriver.AwaitingApproval().Reject();

        var signal = Assert.Single(run.State.Signals);
        Assert.Equal((DriftKinds.ApprovalRejected, "s2/approval", "s2", "sample.restart", "Rejected by bob: too risky"),
            (signal.Kind, signal.CommandId, signal.StepId, signal.Tool, signal.Reason));
        Assert.Equal(("playbook", "playbook:test@1", "1"), (signal.Origin!.PlannerKind, signal.Origin.Planner, signal.Origin.AgentVersion));
        Assert.Equal(run.Now, signal.At);
    }

    [Fact]
    public void AnApprovalTimeout_IsNotedAsDrift_ButNotTheEscalationBeforeIt()
    {
        var run = RunDriver.GatingRestart();
        run.Gate(Fixtures.Decision(RunDriver.RunId, run.Step, GateEffect.RequireApproval, run.Now) with { Approval = new ApprovalTerms("operator", EscalateTo: "admin") });
        run.Fire(Ids.ApprovalTimeout("s2"));
        Assert.Empty(run.State.Signals);

        run.Fire(Ids.EscalatedApprovalTimeout("s2"));

        var signal = Assert.Single(run.State.Signals);
        Assert.Equal((DriftKinds.ApprovalTimeout, "s2/approval-timeout/escalated"), (signal.Kind, signal.CommandId));
        Assert.StartsWith("Approval for step s2 (sample.restart) timed out", signal.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void EachFailedPostCondition_IsNotedAsDrift_UnderItsVerifyCommand()
    {
        var run = RunDriver.Start(options: new AgentWorkflowOptions { MaxPlans = 2 }).Perceive(healthy: false).Plan(Fixtures.Plan(true, "s1"));
        run.Gate(GateEffect.Permit).Act().Verify(healthy: false);
        run.Complete(Ids.PlanFor(2), Fixtures.Plan(true, "s1")).Gate(GateEffect.Permit).Act();
        run.Complete(Ids.VerifyFor(2), Fixtures.Observation(healthy: false, run.Now));

        Assert.Equal([(DriftKinds.PostConditionFailed, "verify"), (DriftKinds.PostConditionFailed, "verify.2")], run.State.Signals.Select(s => (s.Kind, s.CommandId)));
        Assert.All(run.State.Signals, s => Assert.Null(s.StepId));
    }

    [Fact]
    public void AnUndoStepsRejection_IsTheWorkflowsAndNotThePlanners_SoNotDrift()
    {
        var plan = new Plan("playbook:test@1", [Fixtures.Step("s1", "sample.scale", new { replicas = 5 }), Fixtures.Step("s2", "sample.restart", new { reason = "x" })], false, "p");
        var run = RunDriver.Start().Perceive(healthy: false).Plan(plan);
        run.Gate(GateEffect.Permit).Complete(Ids.Act("s1"), Fixtures.ActResult(run.Step) with { Compensation = new CompensationCall("sample.scale", AgenticJson.ToElement(new { replicas = 2 })) });
        run.Gate(GateEffect.Forbid);
        Assert.Equal("undo.s1", run.Step.StepId);

        run.Gate(GateEffect.RequireApproval).Reject();

        Assert.Equal(RunPhase.Failed, run.State.Phase);
        Assert.Empty(run.State.Signals);
    }
}
