using System.Text.Json;
using Agentic.Core.Activities;
using Agentic.Core.Agents;
using Agentic.Core.Json;
using Agentic.Core.Runs;
using Agentic.Core.Workflow;
using Ids = Agentic.Core.Workflow.AgentWorkflow.Ids;

namespace Agentic.Core.Tests.Workflow;

/// <summary>
/// Drives one run through the decider the way a host does: Decide, then feed an event, then Evolve.
/// The clock is fake and advances one second per event, so every run is reproducible.
/// </summary>
internal sealed class RunDriver
{
    public const string RunId = "run-1";
    public static readonly DateTimeOffset T0 = new(2025, 1, 1, 8, 0, 0, TimeSpan.Zero);

    private RunDriver(AgentWorkflow workflow, AgentRunState state)
    {
        Workflow = workflow;
        State = state;
        Now = state.StartedAt;
    }

    public AgentWorkflow Workflow { get; }

    public AgentRunState State { get; private set; }

    public DateTimeOffset Now { get; private set; }

    /// <summary>The step in progress.</summary>
    public StepState Step => State.Steps[State.Current];

    public IReadOnlyList<WorkflowCommand> Commands => Workflow.Decide(State);

    public IReadOnlyList<string> CommandIds => [.. Commands.Select(c => c.Id)];

    public static RunDriver Start(RunRequest? request = null, AgentWorkflowOptions? options = null)
    {
        var workflow = new AgentWorkflow(options ?? new AgentWorkflowOptions());
        return new(workflow, workflow.Start(request ?? Fixtures.Request, new StartContext(RunId, T0)));
    }

    /// <summary>Continues from <paramref name="state"/> (for example one read back from storage).</summary>
    public static RunDriver Resume(AgentRunState state, AgentWorkflowOptions? options = null) =>
        new(new AgentWorkflow(options ?? new AgentWorkflowOptions()), state) { Now = state.UpdatedAt };

    // Scenarios: a run driven to each phase along the remediation plan (s1 diagnostics, s2 restart).
    public static RunDriver Perceiving() => Start();
    public static RunDriver Planning() => Perceiving().Perceive(healthy: false);
    public static RunDriver GatingDiagnostics() => Planning().Plan(Fixtures.Remediation);
    public static RunDriver ActingDiagnostics() => GatingDiagnostics().Gate(GateEffect.Permit);
    public static RunDriver GatingRestart() => ActingDiagnostics().Act();
    public static RunDriver AwaitingApproval() => GatingRestart().Gate(GateEffect.RequireApproval);
    public static RunDriver ActingRestart() => AwaitingApproval().Approve();
    public static RunDriver Verifying() => ActingRestart().Act();
    public static RunDriver Remediated() => Verifying().Verify(healthy: true);
    public static RunDriver Forbidden() => GatingDiagnostics().Gate(GateEffect.Forbid);
    public static RunDriver Terminated() => AwaitingApproval().Terminate();

    /// <summary>Every scenario by name, for theories that must hold in each phase.</summary>
    public static IReadOnlyDictionary<string, Func<RunDriver>> Scenarios { get; } = new Dictionary<string, Func<RunDriver>>
    {
        [nameof(Perceiving)] = Perceiving,
        [nameof(Planning)] = Planning,
        [nameof(GatingDiagnostics)] = GatingDiagnostics,
        [nameof(ActingDiagnostics)] = ActingDiagnostics,
        [nameof(GatingRestart)] = GatingRestart,
        [nameof(AwaitingApproval)] = AwaitingApproval,
        [nameof(ActingRestart)] = ActingRestart,
        [nameof(Verifying)] = Verifying,
        [nameof(Remediated)] = Remediated,
        [nameof(Forbidden)] = Forbidden,
        [nameof(Terminated)] = Terminated,
    };

    public static TheoryData<string> Running() => [.. Scenarios.Keys.Where(k => !Scenarios[k]().IsTerminal)];

    public static TheoryData<string> Ended() => [.. Scenarios.Keys.Where(k => Scenarios[k]().IsTerminal)];

    public static TheoryData<string> All() => [.. Scenarios.Keys];

    public bool IsTerminal => Workflow.IsTerminal(State);

    public T Single<T>() where T : WorkflowCommand => Assert.Single(Commands.OfType<T>());

    /// <summary>The input of the one activity call outstanding, read as <typeparamref name="T"/>.</summary>
    public T Input<T>() => AgenticJson.FromElement<T>(Single<CallActivity>().Input);

    public DateTimeOffset Tick() => Now = Now.AddSeconds(1);

    public RunDriver On(WorkflowEvent change)
    {
        State = Workflow.Evolve(State, change);
        return this;
    }

    public RunDriver Complete<T>(string commandId, T result) => On(new ActivityCompleted(commandId, AgenticJson.ToElement(result), Tick()));

    public RunDriver Fail(string commandId, string errorType = "TimeoutException", string message = "no answer") =>
        On(new ActivityFailed(commandId, errorType, message, Tick()));

    public RunDriver Fire(string timerId) => On(new TimerFired(timerId, Tick()));

    public RunDriver Raise(string name, JsonElement payload) => On(new EventRaised(name, payload, Tick()));

    public RunDriver Terminate(string by = "carol", string reason = "stuck") => On(new RunTerminated(reason, by, Tick()));

    public RunDriver Perceive(bool healthy) => Complete(Ids.Perceive, Fixtures.Observation(healthy, Now));

    public RunDriver Plan(Plan plan) => Complete(Ids.Plan, plan);

    public RunDriver Gate(GateEffect effect) => Gate(Fixtures.Decision(RunId, Step, effect, Now));

    public RunDriver Gate(GateDecision decision) => Complete(Ids.Gate(Step.StepId), decision);

    public RunDriver Act(bool replayed = false) => Complete(Ids.Act(Step.StepId), Fixtures.ActResult(Step, replayed));

    public RunDriver Verify(bool healthy) => Complete(Ids.Verify, Fixtures.Observation(healthy, Now));

    /// <summary>Sends an approval event for the step in progress, bound to its arguments unless told otherwise.</summary>
    public RunDriver Approve(string approver = Fixtures.Approver, string decision = "approve", string[]? roles = null, string? argsDigest = null, string? comment = "looks right") =>
        ApprovalEvent(AgenticJson.ToElement(Fixtures.Approval(argsDigest ?? Step.ArgsDigest, Now, approver, decision, roles, comment)));

    public RunDriver Reject(string approver = Fixtures.Approver, string? comment = "too risky") => Approve(approver, "reject", comment: comment);

    public RunDriver ApprovalEvent(JsonElement payload) => Raise(Ids.ApprovalEvent(Step.StepId), payload);

    /// <summary>Answers the outstanding plan call with the real playbook, over the wire format.</summary>
    public async Task<RunDriver> PlanWithPlaybookAsync()
    {
        var call = Single<CallActivity>();
        var planner = new PlanActivity(AgentCatalog.Default, Agentic.Testing.TestAudit.InMemoryLog(), TimeProvider.System);
        var plan = await planner.RunAsync(call.Input, new ActivityContext(RunId, call.Id, 1), TestContext.Current.CancellationToken);
        return On(new ActivityCompleted(call.Id, plan, Tick()));
    }
}
