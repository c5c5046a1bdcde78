using System.Text;
using System.Text.Json;
using Agentic.Core.Agents;
using Agentic.Core.Json;
using Agentic.Core.Policy;
using Agentic.Core.Runs;
using Agentic.Core.Tools;
using Agentic.Core.Tools.Builtin;
using Agentic.Core.Workflow;

namespace Agentic.Bench.Simulation;

/// <summary>One activity of a simulated run: what was issued, what came back, and the decider's answer.</summary>
/// <param name="Call">The command the decider issued.</param>
/// <param name="Done">The completion event fed back.</param>
/// <param name="Before">The state the event was applied to.</param>
/// <param name="After">The state after the event.</param>
/// <param name="Commands">What the decider wants in <paramref name="After"/>.</param>
public sealed record Hop(CallActivity Call, ActivityCompleted Done, AgentRunState Before, AgentRunState After, IReadOnlyList<WorkflowCommand> Commands);

/// <summary>A whole run of the "diagnostics" agent, driven through the real decider with no host at all.</summary>
/// <param name="Request">The validated request.</param>
/// <param name="Start">The state at start.</param>
/// <param name="StartCommands">What the decider wants at start.</param>
/// <param name="Hops">Every activity in order: perceive, plan, then gate and act per step.</param>
public sealed record SimulatedRun(RunRequest Request, AgentRunState Start, IReadOnlyList<WorkflowCommand> StartCommands, IReadOnlyList<Hop> Hops)
{
    /// <summary>The hop of <paramref name="activity"/> for step <paramref name="stepId"/>.</summary>
    public Hop Find(string activity, string stepId) =>
        Hops.Single(h => h.Call.Name == activity && h.Call.Id.StartsWith(stepId + "/", StringComparison.Ordinal));
}

/// <summary>
/// Simulates runs of the "diagnostics" agent (K read-only steps, all permitted) with the real workflow,
/// playbook, baseline policy and tool descriptors, and activity results shaped like the sample fleet's
/// answers. The load driver takes its requests from here; the micro benchmarks take their states and
/// events from here.
/// </summary>
public static class DiagnosticsRun
{
    private static readonly AgentWorkflow Workflow = new();
    private static readonly ActivePolicies Policies = new(ShippedPolicies.Baseline);
    private static readonly ToolDescriptor Diagnostics = SampleServiceTools.Descriptors.Single(d => d.Name == "sample.diagnostics");

    /// <summary>The request the load driver submits: agent "diagnostics" with <c>{"probes": K}</c>.</summary>
    public static RunRequest Request(string target, int probes, string principal = "bench") =>
        Parse(RequestBody(target, probes), new Uri(target), principal);

    /// <summary>Any request body, validated as a dev deployment whose run targets are the fleet's at <paramref name="target"/>.</summary>
    public static RunRequest Parse(string body, Uri target, string principal = "bench") =>
        RunRequestParser.Parse(Encoding.UTF8.GetBytes(body), principal, Admission(target));

    // A dev deployment whose run targets are the fleet's services at the target's address.
    private static RunAdmission Admission(Uri target)
    {
        var options = new TargetOptions();
        var rule = new EndpointRule { Scheme = target.Scheme, Host = target.Host, Port = target.Port, AllowPrivate = true };
        rule.Paths.Add("/services/**");
        options.Allow.Add(rule);
        return new RunAdmission(AgentCatalog.Default, "dev", new RunTargets(options));
    }

    /// <summary>The JSON body of that request.</summary>
    public static string RequestBody(string target, int probes) =>
        JsonSerializer.Serialize(new { agent = "diagnostics", target, goal = "Load test: collect diagnostics", parameters = new { probes } });

    /// <summary>Runs the decider from start to completion, one activity at a time, 1 ms of fake time per activity.</summary>
    public static SimulatedRun Simulate(string runId, string target, int probes, DateTimeOffset? startedAt = null)
    {
        var request = Request(target, probes);
        var now = startedAt ?? new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var start = Workflow.Start(request, new StartContext(runId, now));
        var startCommands = Workflow.Decide(start);
        var hops = new List<Hop>();
        var state = start;
        var commands = startCommands;
        while (!Workflow.IsTerminal(state))
        {
            var call = commands.OfType<CallActivity>().Single();
            now += TimeSpan.FromMilliseconds(1);
            var done = new ActivityCompleted(call.Id, Result(call, target, now), now);
            var next = Workflow.Evolve(state, done);
            commands = Workflow.Decide(next);
            hops.Add(new Hop(call, done, state, next, commands));
            state = next;
        }
        return state.Phase == RunPhase.Completed
            ? new SimulatedRun(request, start, startCommands, hops)
            : throw new InvalidOperationException($"The simulated run ended {state.Phase}: {state.FailureReason}");
    }

    private static JsonElement Result(CallActivity call, string target, DateTimeOffset now)
    {
        var service = target[(target.LastIndexOf('/') + 1)..];
        switch (call.Name)
        {
            case AgentActivities.Perceive:
            {
                var details = AgenticJson.ToElement(new { status = "healthy", service, replicas = 2, restarts = 0 });
                return AgenticJson.ToElement(new Observation($"http-probe:{target}/health", now, AgenticJson.Digest(details), true, "healthy", details));
            }
            case AgentActivities.Plan:
                return AgenticJson.ToElement(AgentCatalog.Default.Get("diagnostics").Planner(AgenticJson.FromElement<PlanInput>(call.Input)));
            case AgentActivities.Gate:
            {
                var input = AgenticJson.FromElement<GateInput>(call.Input);
                return AgenticJson.ToElement(PolicyGate.Decide(Policies, input, Diagnostics, now));
            }
            case AgentActivities.Act:
            {
                var message = $"{service}: error rate 0.1%, p95 42 ms";
                var output = AgenticJson.ToElement(new { service, errorRate = 0.001, p95LatencyMs = 42, replicas = 2, message });
                return AgenticJson.ToElement(new ActResult(Diagnostics.Name, Diagnostics.Version, 200, message, output, false));
            }
            default:
                throw new InvalidOperationException($"The diagnostics agent does not call {call.Name}.");
        }
    }
}
