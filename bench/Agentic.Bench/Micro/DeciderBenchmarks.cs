using Agentic.Bench.Simulation;
using Agentic.Core.Agents;
using Agentic.Core.Workflow;
using BenchmarkDotNet.Attributes;

namespace Agentic.Bench.Micro;

/// <summary>
/// What the decider costs per event of a step: Evolve with the completion, then Decide the next commands
/// (Decide serializes the next activity's input). Step s3 of a 5-step diagnostics run, mid-run state.
/// </summary>
[MemoryDiagnoser]
public class DeciderBenchmarks
{
    private readonly AgentWorkflow _workflow = new();
    private AgentRunState _gating = null!;
    private WorkflowEvent _gateDone = null!;
    private AgentRunState _acting = null!;
    private WorkflowEvent _actDone = null!;

    [GlobalSetup]
    public void Setup()
    {
        var run = DiagnosticsRun.Simulate("run-0123456789abcdef0123456789abcdef", "http://127.0.0.1:7072/services/checkout", 5);
        var gate = run.Find(AgentActivities.Gate, "s3");
        var act = run.Find(AgentActivities.Act, "s3");
        (_gating, _gateDone, _acting, _actDone) = (gate.Before, gate.Done, act.Before, act.Done);
    }

    /// <summary>The gate's decision arrives: the step moves to acting and the act activity is decided.</summary>
    [Benchmark]
    public IReadOnlyList<WorkflowCommand> GateCompleted_EvolveDecide() => _workflow.Decide(_workflow.Evolve(_gating, _gateDone));

    /// <summary>The act's result arrives: the step succeeds and the next step's gate is decided.</summary>
    [Benchmark]
    public IReadOnlyList<WorkflowCommand> ActCompleted_EvolveDecide() => _workflow.Decide(_workflow.Evolve(_acting, _actDone));
}
