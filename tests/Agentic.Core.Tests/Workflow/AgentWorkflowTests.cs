using System.Text.Json;
using Agentic.Core.Agents;
using Agentic.Core.Json;
using Agentic.Core.Runs;
using Agentic.Core.Workflow;
using Ids = Agentic.Core.Workflow.AgentWorkflow.Ids;

namespace Agentic.Core.Tests.Workflow;

/// <summary>The governed loop's forward transitions: perceive, plan, gate, act, verify, complete.</summary>
public sealed class AgentWorkflowTests
{
    [Fact]
    public void Start_RecordsRequestTimesAndStory_AndPerceivesFirst()
    {
        var run = RunDriver.Start();

        var state = run.State;
        Assert.Equal(RunDriver.RunId, state.RunId);
        Assert.Same(Fixtures.Request, state.Request);
        Assert.Equal(RunDriver.T0, state.StartedAt);
        Assert.Equal(RunDriver.T0, state.UpdatedAt);
        Assert.Equal(RunDriver.T0 + TimeSpan.FromHours(4), state.Deadline);
        Assert.Equal(RunPhase.Perceiving, state.Phase);
        Assert.Empty(state.Steps);
        var entry = Assert.Single(state.Log);
        Assert.Equal("started", entry.Kind);
        Assert.Equal("Run of agent 'service-healer' requested by alice for http://svc.test.", entry.Message);
        Assert.False(run.IsTerminal);
    }

    [Fact]
    public void Perceiving_DecidesObserveCallAndDeadlineTimer()
    {
        var run = RunDriver.Perceiving();

        Assert.Equal([Ids.Perceive, Ids.Deadline], run.CommandIds);
        var call = run.Single<CallActivity>();
        Assert.Equal(AgentActivities.Perceive, call.Name);
        var input = run.Input<PerceiveInput>();
        // The request's goal and parameters go along, for the agent's request signals.
        Assert.Equal(new PerceiveInput(RunDriver.RunId, "service-healer", Fixtures.Target, "observe") { Goal = Fixtures.Request.Goal, Parameters = input.Parameters }, input);
        Assert.Equal("{}", input.Parameters!.Value.GetRawText());
        Assert.Equal(run.State.Deadline, run.Single<StartTimer>().FireAt);
    }

    [Fact]
    public void Perceived_MovesToPlanning_WithTheObservationAndItsEvidence()
    {
        var run = RunDriver.Planning();

        Assert.Equal(RunPhase.Planning, run.State.Phase);
        Assert.NotNull(run.State.Observation);
        Assert.False(run.State.Observation.Healthy);
        Assert.Equal(run.Now, run.State.UpdatedAt);
        var entry = run.State.Log[^1];
        Assert.Equal("perceived", entry.Kind);
        Assert.StartsWith("http-probe:http://svc.test/health: degraded (unhealthy), evidence sha256:", entry.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Planning_DecidesPlanCall_WithRequestAndObservation()
    {
        var run = RunDriver.Planning();

        Assert.Equal([Ids.Plan, Ids.Deadline], run.CommandIds);
        Assert.Equal(AgentActivities.Plan, run.Single<CallActivity>().Name);
        var input = run.Input<PlanInput>();
        Assert.Equal(RunDriver.RunId, input.RunId);
        Assert.Equal("service-healer", input.Agent);
        Assert.Equal(Fixtures.Request.Goal, input.Goal);
        Assert.Equal(Fixtures.Target, input.Target);
        Assert.Equal("degraded", input.Observation.Status);
    }

    [Fact]
    public async Task HealthyObservation_PlaybookPlansNothing_CompletesWithNoAction()
    {
        var run = await RunDriver.Perceiving().Perceive(healthy: true).PlanWithPlaybookAsync();

        Assert.Equal(RunPhase.Completed, run.State.Phase);
        Assert.Empty(run.State.Steps);
        Assert.Equal(new RunOutput("no-action", "Nothing to do: The target is ok; no action needed.", 0), run.State.Output);
        var complete = Assert.IsType<CompleteRun>(Assert.Single(run.Commands));
        Assert.Equal("complete", complete.Id);
        Assert.Equal("no-action", complete.Output.GetProperty("outcome").GetString());
        Assert.True(run.IsTerminal);
    }

    [Fact]
    public async Task UnhealthyObservation_PlaybookPlansDiagnoseAndRestart_AndGatesTheFirstStep()
    {
        var run = await RunDriver.Planning().PlanWithPlaybookAsync();

        Assert.Equal(RunPhase.Gating, run.State.Phase);
        Assert.Equal(["s1", "s2"], run.State.Steps.Select(s => s.StepId));
        Assert.Equal(["sample.diagnostics", "sample.restart"], run.State.Steps.Select(s => s.Tool));
        Assert.Equal([StepStatus.Gating, StepStatus.Pending], run.State.Steps.Select(s => s.Status));
        Assert.Equal([Ids.Gate("s1"), Ids.Deadline], run.CommandIds);
    }

    [Fact]
    public async Task MinimalParsedRequest_WithoutGoalOrParameters_IsPlannedByThePlaybook()
    {
        var request = RunRequestParser.Parse("""{"agent":"diagnostics","target":"http://svc.test"}"""u8, Fixtures.Principal, Tests.Runs.Admissions.Default);

        var run = await RunDriver.Start(request).Perceive(healthy: true).PlanWithPlaybookAsync();

        Assert.Equal(RunPhase.Gating, run.State.Phase);
        Assert.Equal(["s1", "s2", "s3"], run.State.Steps.Select(s => s.StepId));
        Assert.Equal("dev", run.Input<GateInput>().Environment);
    }

    [Fact]
    public void Plan_RecordsEachStepWithTheDigestOfItsArguments()
    {
        var run = RunDriver.GatingDiagnostics();

        Assert.Equal(Fixtures.Remediation.Planner, run.State.Plan?.Planner);
        Assert.Equal(Fixtures.Remediation.Steps.Count, run.State.Steps.Length);
        foreach (var (step, planned) in run.State.Steps.Zip(Fixtures.Remediation.Steps))
        {
            Assert.Equal(planned.StepId, step.StepId);
            Assert.Equal(planned.Rationale, step.Rationale);
            Assert.True(JsonElement.DeepEquals(planned.Arguments, step.Arguments));
            Assert.Equal(AgenticJson.Digest(planned.Arguments), step.ArgsDigest);
        }
        Assert.Equal(0, run.State.Current);
        Assert.Contains(run.State.Log, e => e.Kind == "planned" && e.Message == "playbook:test@1: 2 step(s). Diagnose, restart, verify.");
    }

    [Fact]
    public void Gating_DecidesGateCall_WithEverythingThePolicyMayLookAt()
    {
        var run = RunDriver.GatingDiagnostics();

        Assert.Equal(AgentActivities.Gate, run.Single<CallActivity>().Name);
        var input = run.Input<GateInput>();
        Assert.Equal(RunDriver.RunId, input.RunId);
        Assert.Equal("s1", input.StepId);
        Assert.Equal(Fixtures.Principal, input.Principal);
        Assert.Equal("service-healer", input.Agent);
        Assert.Equal("prod", input.Environment);
        Assert.Equal("sample.diagnostics", input.Tool);
        Assert.Equal(run.Step.ArgsDigest, input.ArgsDigest);
        Assert.True(JsonElement.DeepEquals(run.Step.Arguments, input.Arguments));
        Assert.Equal(0, input.StepsTaken);
    }

    [Fact]
    public void Gating_SecondStep_CountsTheStepsTaken()
    {
        var run = RunDriver.GatingRestart();

        Assert.Equal([Ids.Gate("s2"), Ids.Deadline], run.CommandIds);
        Assert.Equal(1, run.Input<GateInput>().StepsTaken);
        Assert.Equal([StepStatus.Succeeded, StepStatus.Gating], run.State.Steps.Select(s => s.Status));
    }

    [Fact]
    public void Permit_MovesToActing_AndRecordsTheDecision()
    {
        var run = RunDriver.ActingDiagnostics();

        Assert.Equal(RunPhase.Acting, run.State.Phase);
        Assert.Equal(StepStatus.Acting, run.Step.Status);
        Assert.NotNull(run.Step.Decision);
        Assert.Equal(GateEffect.Permit, run.Step.Decision.Effect);
        Assert.Null(run.Step.Approval);
        Assert.Contains(run.State.Log, e => e.Kind == "decided" && e.StepId == "s1"
            && e.Message == "sample.diagnostics: permitted by baseline@1 rule 'permit-read-only': sample.diagnostics was judged.");
    }

    [Fact]
    public void Acting_DecidesActCall_UnderTheRecordedDecision_WithoutApproval()
    {
        var run = RunDriver.ActingDiagnostics();

        Assert.Equal([Ids.Act("s1"), Ids.Deadline], run.CommandIds);
        Assert.Equal(AgentActivities.Act, run.Single<CallActivity>().Name);
        var input = run.Input<ActInput>();
        Assert.Equal(RunDriver.RunId, input.RunId);
        Assert.Equal("s1", input.StepId);
        Assert.Equal(Fixtures.Target, input.Target);
        Assert.Equal("sample.diagnostics", input.Tool);
        Assert.Equal(run.Step.ArgsDigest, input.ArgsDigest);
        Assert.True(JsonElement.DeepEquals(run.Step.Arguments, input.Arguments));
        Assert.Equal(run.Step.Decision, input.Decision);
        Assert.Null(input.Approval);
    }

    [Fact]
    public void ActCompleted_MarksStepSucceeded_AndGatesTheNextStep()
    {
        var run = RunDriver.GatingRestart();

        var done = run.State.Steps[0];
        Assert.Equal(StepStatus.Succeeded, done.Status);
        Assert.Equal("sample.diagnostics answered 200.", done.Result?.Summary);
        Assert.Equal(RunPhase.Gating, run.State.Phase);
        Assert.Equal(1, run.State.Current);
        Assert.Contains(run.State.Log, e => e.Kind == "acted" && e.StepId == "s1" && e.Message == "sample.diagnostics: sample.diagnostics answered 200.");
    }

    [Fact]
    public void ActCompleted_FromTheLedger_IsLoggedAsNotRepeated()
    {
        var run = RunDriver.ActingDiagnostics().Act(replayed: true);

        Assert.True(run.State.Steps[0].Result?.Replayed);
        Assert.EndsWith("(recorded outcome, not repeated)", run.State.Log[^1].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LastStepActed_WhenPlanExpectsHealthy_Verifies()
    {
        var run = RunDriver.Verifying();

        Assert.Equal(RunPhase.Verifying, run.State.Phase);
        Assert.Equal([Ids.Verify, Ids.Deadline], run.CommandIds);
        Assert.Equal(AgentActivities.Perceive, run.Single<CallActivity>().Name);
        Assert.Equal("verify", run.Input<PerceiveInput>().Purpose);
    }

    [Fact]
    public void VerifyHealthy_CompletesRemediated_CountingSucceededSteps()
    {
        var run = RunDriver.Remediated();

        Assert.Equal(RunPhase.Completed, run.State.Phase);
        Assert.True(run.State.Verification?.Healthy);
        var output = new RunOutput("remediated", "Target healthy after 2 step(s).", 2);
        Assert.Equal(output, run.State.Output);
        Assert.Null(run.State.FailureReason);
        var complete = Assert.IsType<CompleteRun>(Assert.Single(run.Commands));
        Assert.Equal(output, AgenticJson.FromElement<RunOutput>(complete.Output));
    }

    [Fact]
    public void VerifyUnhealthy_FailsOnThePostCondition()
    {
        var run = RunDriver.Verifying().Verify(healthy: false);

        RunAssert.Failed(run, "Post-condition not met: target still degraded after the plan ran.");
        Assert.False(run.State.Verification?.Healthy);
    }

    [Fact]
    public void LastStepActed_WhenPlanExpectsNothing_CompletesDone()
    {
        var run = RunDriver.Planning().Plan(Fixtures.Plan(expectHealthy: false, "s1")).Gate(GateEffect.Permit).Act();

        Assert.Equal(RunPhase.Completed, run.State.Phase);
        Assert.Null(run.State.Verification);
        Assert.Equal(new RunOutput("done", "All 1 step(s) succeeded.", 1), run.State.Output);
    }

    [Fact]
    public void EmptyPlan_ThatExpectsHealthy_GoesStraightToVerify()
    {
        var run = RunDriver.Planning().Plan(Fixtures.Plan(expectHealthy: true));

        Assert.Equal(RunPhase.Verifying, run.State.Phase);
        Assert.Equal([Ids.Verify, Ids.Deadline], run.CommandIds);
    }

    [Fact]
    public void Log_TellsTheRunStoryInOrder()
    {
        var run = RunDriver.Remediated();

        Assert.Equal(
            ["started", "perceived", "planned", "decided", "acted", "decided", "awaiting-approval", "approved", "acted", "observed", "completed"],
            run.State.Log.Select(e => e.Kind));
        Assert.Equal(run.State.Log.Select(e => e.At).Order(), run.State.Log.Select(e => e.At));
    }

    [Fact]
    public void Decide_UsesReadRetryForReads_AndActRetryForActs()
    {
        var options = new AgentWorkflowOptions
        {
            ReadRetry = new RetryOptions(5, TimeSpan.FromSeconds(2), 3, TimeSpan.FromSeconds(30)),
            ReadTimeout = TimeSpan.FromSeconds(7),
            ActRetry = new RetryOptions(2, TimeSpan.FromSeconds(4), 1.5, TimeSpan.FromSeconds(8)),
            ActTimeout = TimeSpan.FromSeconds(9),
        };
        var run = RunDriver.Start(options: options);

        var perceive = run.Single<CallActivity>();
        Assert.Equal(options.ReadRetry, perceive.Retry);
        Assert.Equal(options.ReadTimeout, perceive.Timeout);
        var act = run.Perceive(healthy: false).Plan(Fixtures.Remediation).Gate(GateEffect.Permit).Single<CallActivity>();
        Assert.Equal(options.ActRetry, act.Retry);
        Assert.Equal(options.ActTimeout, act.Timeout);
    }
}
