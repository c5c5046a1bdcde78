using Agentic.Core.Agents;
using Agentic.Core.Json;
using Agentic.Core.Workflow;
using Ids = Agentic.Core.Workflow.AgentWorkflow.Ids;

namespace Agentic.Core.Tests.Workflow;

/// <summary>Every way a run ends badly: it fails closed, says why, and never acts after.</summary>
public sealed class AgentWorkflowFailureTests
{
    [Fact]
    public void Forbid_FailsTheRunNamingTheRule_AndSkipsLaterSteps()
    {
        var run = RunDriver.Forbidden();

        RunAssert.Failed(run, "Step s1 (sample.diagnostics) forbidden by baseline rule 'default-deny': sample.diagnostics was judged.");
        Assert.Equal([StepStatus.Denied, StepStatus.Skipped], run.State.Steps.Select(s => s.Status));
        Assert.Equal(GateEffect.Forbid, run.State.Steps[0].Decision?.Effect);
        Assert.Equal("sample.diagnostics was judged.", run.State.Steps[0].Error);
        Assert.Contains(run.State.Log, e => e.Kind == "decided" && e.Message.StartsWith("sample.diagnostics: forbidden by baseline@1", StringComparison.Ordinal));
    }

    [Fact]
    public void Forbid_OnALaterStep_KeepsEarlierSuccesses()
    {
        var run = RunDriver.GatingRestart().Gate(GateEffect.Forbid);

        RunAssert.Failed(run, "Step s2 (sample.restart) forbidden by baseline rule 'default-deny': sample.restart was judged.");
        Assert.Equal([StepStatus.Succeeded, StepStatus.Denied], run.State.Steps.Select(s => s.Status));
    }

    [Fact]
    public void Gate_Unavailable_FailsClosed_WithoutActing()
    {
        var run = RunDriver.GatingDiagnostics().Fail(Ids.Gate("s1"), "RequestFailedException", "audit store unreachable");

        RunAssert.Failed(run, "Gate unavailable for step s1 (sample.diagnostics), failing closed: RequestFailedException: audit store unreachable");
        Assert.Equal([StepStatus.Denied, StepStatus.Skipped], run.State.Steps.Select(s => s.Status));
        Assert.Null(run.State.Steps[0].Decision);
        Assert.Equal("RequestFailedException: audit store unreachable", run.State.Steps[0].Error);
    }

    [Theory]
    [InlineData("s1", true)]
    [InlineData("s2", false)]
    public void Decision_NotBoundToThisStepsArguments_FailsClosed(string stepId, bool otherArguments)
    {
        var run = RunDriver.GatingDiagnostics();
        var digest = otherArguments ? AgenticJson.Digest(AgenticJson.ToElement(new { all = true })) : run.Step.ArgsDigest;
        var decision = Fixtures.Decision(RunDriver.RunId, run.Step, GateEffect.Permit, run.Now) with { StepId = stepId, ArgsDigest = digest };

        run.Gate(decision);

        RunAssert.Failed(run, $"Gate answered for {stepId}/{digest[..19]}, not s1/{run.State.Steps[0].ArgsDigest[..19]}: failing closed.");
        Assert.Equal(StepStatus.Denied, run.State.Steps[0].Status);
        Assert.Null(run.State.Steps[0].Decision);
        Assert.Equal("Decision not bound to this step's arguments.", run.State.Steps[0].Error);
    }

    [Fact]
    public void Act_Failed_FailsTheRunNamingTheStep()
    {
        var run = RunDriver.ActingRestart().Fail(Ids.Act("s2"), "ToolException", "service answered 503");

        RunAssert.Failed(run, "Step s2 (sample.restart) failed: ToolException: service answered 503");
        Assert.Equal([StepStatus.Succeeded, StepStatus.Failed], run.State.Steps.Select(s => s.Status));
        Assert.Equal("ToolException: service answered 503", run.Step.Error);
        Assert.Null(run.State.Output);
    }

    [Theory]
    [InlineData(nameof(RunDriver.Perceiving), Ids.Perceive, "Perceive failed: HttpRequestException: boom")]
    [InlineData(nameof(RunDriver.Planning), Ids.Plan, "Plan failed: HttpRequestException: boom")]
    [InlineData(nameof(RunDriver.Verifying), Ids.Verify, "Verify failed: HttpRequestException: boom")]
    public void ReadActivity_Failed_FailsTheRunNamingIt(string scenario, string commandId, string reason)
    {
        var run = RunDriver.Scenarios[scenario]().Fail(commandId, "HttpRequestException", "boom");

        RunAssert.Failed(run, reason);
    }

    [Fact]
    public void Plan_OverMaxSteps_FailsOnTheGuard_WithoutGating()
    {
        var options = new AgentWorkflowOptions { MaxSteps = 2 };
        var run = RunDriver.Start(options: options).Perceive(healthy: false).Plan(Fixtures.Plan(expectHealthy: false, "s1", "s2", "s3"));

        RunAssert.Failed(run, "Guard: the plan has 3 steps; at most 2 are allowed.");
        Assert.NotNull(run.State.Plan);
        Assert.Empty(run.State.Steps);
    }

    [Fact]
    public void Plan_AtMaxSteps_IsAccepted()
    {
        var options = new AgentWorkflowOptions { MaxSteps = 2 };
        var run = RunDriver.Start(options: options).Perceive(healthy: false).Plan(Fixtures.Plan(expectHealthy: false, "s1", "s2"));

        Assert.Equal(RunPhase.Gating, run.State.Phase);
    }

    [Theory]
    [InlineData("s1", "s1")]
    [InlineData("", "s2")]
    [InlineData("  ", "s2")]
    public void Plan_WithRepeatedOrEmptyStepId_FailsAsInvalid(string first, string second)
    {
        var run = RunDriver.Planning().Plan(Fixtures.Plan(expectHealthy: false, first, second));

        RunAssert.Failed(run, $"Invalid plan: step id '{first}' is empty, repeated or not 1 to 64 letters, digits, '.', '_' or '-'.");
        Assert.Empty(run.State.Steps);
    }

    [Theory]
    [MemberData(nameof(RunDriver.Running), MemberType = typeof(RunDriver))]
    public void Deadline_InAnyRunningPhase_FailsTheRun(string scenario)
    {
        var run = RunDriver.Scenarios[scenario]().Fire(Ids.Deadline);

        RunAssert.Failed(run, "Deadline exceeded: the run did not finish within 240 min.");
        Assert.DoesNotContain(run.State.Steps, s => s.Status == StepStatus.Pending);
    }

    [Fact]
    public void Deadline_ShortBudget_IsReportedInSeconds()
    {
        var run = RunDriver.Start(Fixtures.Request with { Deadline = TimeSpan.FromSeconds(45) });

        Assert.Equal(RunDriver.T0.AddSeconds(45), run.Single<StartTimer>().FireAt);
        run.Fire(Ids.Deadline);
        Assert.Equal("Deadline exceeded: the run did not finish within 45 s.", run.State.FailureReason);
    }

    [Theory]
    [MemberData(nameof(RunDriver.Running), MemberType = typeof(RunDriver))]
    public void RunTerminated_InAnyRunningPhase_EndsTerminatedWithFailRun(string scenario)
    {
        var run = RunDriver.Scenarios[scenario]().Terminate(by: "carol", reason: "stuck");

        const string Reason = "Terminated by carol: stuck";
        Assert.Equal(RunPhase.Terminated, run.State.Phase);
        Assert.True(run.IsTerminal);
        Assert.Equal(Reason, run.State.FailureReason);
        Assert.Equal(run.Now, run.State.UpdatedAt);
        Assert.Equal(new FailRun("terminate", Reason), Assert.Single(run.Commands));
        Assert.Equal("terminated", run.State.Log[^1].Kind);
        Assert.DoesNotContain(run.State.Steps, s => s.Status == StepStatus.Pending);
    }
}
