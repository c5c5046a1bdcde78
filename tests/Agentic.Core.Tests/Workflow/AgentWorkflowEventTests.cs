using System.Text.Json;
using Agentic.Core.Json;
using Agentic.Core.Workflow;
using Ids = Agentic.Core.Workflow.AgentWorkflow.Ids;

namespace Agentic.Core.Tests.Workflow;

/// <summary>What hosts rely on: stale events change nothing, ended runs stay ended, Decide is a pure function of the state, and the state survives storage.</summary>
public sealed class AgentWorkflowEventTests
{
    private static readonly Dictionary<string, (Func<RunDriver> Arrange, Func<RunDriver, WorkflowEvent> Event)> StaleEvents = new()
    {
        ["completion of a command not issued yet"] = (RunDriver.Perceiving, r => Completed(Ids.Plan, r)),
        ["duplicate perceive completion"] = (RunDriver.Planning, r => Completed(Ids.Perceive, r)),
        ["duplicate gate completion"] = (RunDriver.ActingDiagnostics, r => Completed(Ids.Gate("s1"), r)),
        ["duplicate act completion of the previous step"] = (RunDriver.GatingRestart, r => Completed(Ids.Act("s1"), r)),
        ["failure of a command that already completed"] = (RunDriver.ActingDiagnostics, r => new ActivityFailed(Ids.Gate("s1"), "TimeoutException", "late", r.Tick())),
        ["failure of the act of another step"] = (RunDriver.ActingRestart, r => new ActivityFailed(Ids.Act("s1"), "TimeoutException", "late", r.Tick())),
        ["completion with an unknown command id"] = (RunDriver.Verifying, r => Completed("s9/act", r)),
        ["unknown timer"] = (RunDriver.GatingDiagnostics, r => new TimerFired("nobody-started-me", r.Tick())),
        ["approval timeout of another step"] = (RunDriver.AwaitingApproval, r => new TimerFired(Ids.ApprovalTimeout("s1"), r.Tick())),
        ["approval timeout while not awaiting approval"] = (RunDriver.GatingRestart, r => new TimerFired(Ids.ApprovalTimeout("s2"), r.Tick())),
        ["unrelated external event"] = (RunDriver.AwaitingApproval, r => new EventRaised("signal:cpu-high", TestJson.Parse("{}"), r.Tick())),
    };

    public static TheoryData<string> StaleEventNames() => [.. StaleEvents.Keys];

    [Theory]
    [MemberData(nameof(StaleEventNames))]
    public void StaleOrDuplicateEvent_ReturnsTheSameStateInstance(string name)
    {
        var (arrange, change) = StaleEvents[name];
        var run = arrange();
        var before = run.State;

        run.On(change(run));

        Assert.Same(before, run.State);
    }

    [Theory]
    [MemberData(nameof(RunDriver.Ended), MemberType = typeof(RunDriver))]
    public void EndedRun_IgnoresEveryFurtherEvent(string scenario)
    {
        var run = RunDriver.Scenarios[scenario]();
        var before = run.State;
        var commands = Fixtures.Json(run.Commands);

        run.Terminate()
            .Fire(Ids.Deadline)
            .Fire(Ids.ApprovalTimeout("s2"))
            .Fail(Ids.Perceive)
            .Complete(Ids.Verify, Fixtures.Observation(healthy: true, run.Now))
            .Raise(Ids.ApprovalEvent("s2"), AgenticJson.ToElement(Fixtures.Approval(before.Steps[^1].ArgsDigest, run.Now)));

        Assert.Same(before, run.State);
        Assert.Equal(commands, Fixtures.Json(run.Commands));
    }

    [Theory]
    [MemberData(nameof(RunDriver.Ended), MemberType = typeof(RunDriver))]
    public void EndedRun_DecidesExactlyOneCompleteOrFail(string scenario)
    {
        var run = RunDriver.Scenarios[scenario]();

        Assert.True(run.IsTerminal);
        Assert.True(Assert.Single(run.Commands) is CompleteRun or FailRun);
    }

    [Theory]
    [MemberData(nameof(RunDriver.Running), MemberType = typeof(RunDriver))]
    public void RunningRun_IsNotTerminal_AndAlwaysKeepsTheDeadlineTimer(string scenario)
    {
        var run = RunDriver.Scenarios[scenario]();

        Assert.False(run.IsTerminal);
        Assert.Contains(run.Commands, c => c is StartTimer { Id: Ids.Deadline } t && t.FireAt == run.State.Deadline);
        Assert.DoesNotContain(run.Commands, c => c is CompleteRun or FailRun);
    }

    [Theory]
    [InlineData(nameof(RunDriver.Perceiving), new[] { "perceive", "deadline" })]
    [InlineData(nameof(RunDriver.Planning), new[] { "plan", "deadline" })]
    [InlineData(nameof(RunDriver.GatingDiagnostics), new[] { "s1/gate", "deadline" })]
    [InlineData(nameof(RunDriver.ActingDiagnostics), new[] { "s1/act", "deadline" })]
    [InlineData(nameof(RunDriver.GatingRestart), new[] { "s2/gate", "deadline" })]
    [InlineData(nameof(RunDriver.AwaitingApproval), new[] { "s2/approval", "s2/approval-timeout", "deadline" })]
    [InlineData(nameof(RunDriver.ActingRestart), new[] { "s2/act", "deadline" })]
    [InlineData(nameof(RunDriver.Verifying), new[] { "verify", "deadline" })]
    [InlineData(nameof(RunDriver.Remediated), new[] { "complete" })]
    [InlineData(nameof(RunDriver.Forbidden), new[] { "fail" })]
    [InlineData(nameof(RunDriver.Terminated), new[] { "terminate" })]
    public void Decide_CommandIds_AreStableStrings(string scenario, string[] ids)
    {
        Assert.Equal(ids, RunDriver.Scenarios[scenario]().CommandIds);
    }

    [Theory]
    [MemberData(nameof(RunDriver.All), MemberType = typeof(RunDriver))]
    public void Decide_IsDeterministic_AndDoesNotChangeTheState(string scenario)
    {
        var run = RunDriver.Scenarios[scenario]();
        var state = Fixtures.Json(run.State);

        var first = run.Workflow.Decide(run.State);
        var second = new AgentWorkflow().Decide(run.State);

        Assert.Equal(Fixtures.Json(first), Fixtures.Json(second));
        Assert.Equal(state, Fixtures.Json(run.State));
    }

    [Theory]
    [MemberData(nameof(RunDriver.All), MemberType = typeof(RunDriver))]
    public void SameEvents_ProduceEqualStates(string scenario)
    {
        var one = RunDriver.Scenarios[scenario]();
        var two = RunDriver.Scenarios[scenario]();

        Assert.NotSame(one.State, two.State);
        Assert.Equal(Fixtures.Json(one.State), Fixtures.Json(two.State));
    }

    [Theory]
    [MemberData(nameof(RunDriver.All), MemberType = typeof(RunDriver))]
    public void RunState_RoundTripsThroughJson_AndDecidesTheSame(string scenario)
    {
        var run = RunDriver.Scenarios[scenario]();
        var json = JsonSerializer.Serialize(run.State, AgenticJson.Options);

        var restored = JsonSerializer.Deserialize<AgentRunState>(json, AgenticJson.Options);

        Assert.NotNull(restored);
        Assert.Equal(json, JsonSerializer.Serialize(restored, AgenticJson.Options));
        Assert.Equal(run.State.Phase, restored.Phase);
        Assert.Equal(run.State.Steps.Select(s => s.Status), restored.Steps.Select(s => s.Status));
        var expected = run.Commands;
        var actual = run.Workflow.Decide(restored);
        Assert.Equal(Fixtures.Json(expected), Fixtures.Json(actual));
        foreach (var (e, a) in expected.Zip(actual))
        {
            Assert.Equal(e.GetType(), a.GetType());
            Assert.Equal(e.Id, a.Id);
            if (e is CallActivity ec && a is CallActivity ac)
            {
                Assert.True(JsonElement.DeepEquals(ec.Input, ac.Input));
            }
        }
    }

    [Fact]
    public void RunState_RestoredMidApproval_ContinuesToTheSameOutcome()
    {
        var original = RunDriver.AwaitingApproval();
        var json = JsonSerializer.Serialize(original.State, AgenticJson.Options);
        var restored = RunDriver.Resume(JsonSerializer.Deserialize<AgentRunState>(json, AgenticJson.Options)!);

        original.Approve().Act().Verify(healthy: true);
        restored.Approve().Act().Verify(healthy: true);

        Assert.Equal(RunPhase.Completed, restored.State.Phase);
        Assert.Equal(Fixtures.Json(original.State), Fixtures.Json(restored.State));
    }

    [Fact]
    public void Commands_RoundTripThroughJson_WithTheirDiscriminators()
    {
        var commands = RunDriver.AwaitingApproval().Commands.Concat(RunDriver.ActingRestart().Commands).Concat(RunDriver.Remediated().Commands).ToList();
        var json = Fixtures.Json(commands);

        var restored = JsonSerializer.Deserialize<List<WorkflowCommand>>(json, AgenticJson.Options);

        Assert.NotNull(restored);
        Assert.Equal(commands.Select(c => c.GetType()), restored.Select(c => c.GetType()));
        Assert.Equal(json, Fixtures.Json(restored));
        Assert.Contains("\"$type\":\"wait\"", json, StringComparison.Ordinal);
        Assert.Contains("\"$type\":\"timer\"", json, StringComparison.Ordinal);
        Assert.Contains("\"$type\":\"activity\"", json, StringComparison.Ordinal);
        Assert.Contains("\"$type\":\"complete\"", json, StringComparison.Ordinal);
    }

    [Fact]
    public void Events_RoundTripThroughJson_AndEvolveTheSame()
    {
        var run = RunDriver.AwaitingApproval();
        WorkflowEvent approval = new EventRaised(Ids.ApprovalEvent("s2"), AgenticJson.ToElement(Fixtures.Approval(run.Step.ArgsDigest, run.Now)), run.Now.AddSeconds(1));

        var restored = JsonSerializer.Deserialize<WorkflowEvent>(JsonSerializer.Serialize(approval, AgenticJson.Options), AgenticJson.Options);

        Assert.IsType<EventRaised>(restored);
        Assert.Equal(
            Fixtures.Json(run.Workflow.Evolve(run.State, approval)),
            Fixtures.Json(run.Workflow.Evolve(run.State, restored)));
    }

    private static ActivityCompleted Completed(string commandId, RunDriver run) =>
        new(commandId, AgenticJson.ToElement(Fixtures.Observation(healthy: true, run.Now)), run.Tick());
}
