using System.Diagnostics;
using System.Diagnostics.Metrics;
using Agentic.Core.Agents;

namespace Agentic.Core.Telemetry;

/// <summary>
/// The product's one <see cref="ActivitySource"/> and one <see cref="Meter"/> (both named <see cref="Name"/>), the
/// instruments on it, and the one-line recording points the activities, the tool executor and the orchestrator call.
/// Span and attribute names follow the OpenTelemetry GenAI semantic conventions where they apply
/// (<c>invoke_agent</c>, <c>execute_tool</c>, <c>gen_ai.*</c>); the rest are <c>agentic.*</c>.
/// </summary>
/// <remarks>
/// Nothing recorded here carries a value a caller or a tool supplied beyond names and ids: no arguments, no outputs, no
/// error messages (an error is its exception type), so no secret can reach a span, an event or a metric tag.
/// </remarks>
public static class AgenticTelemetry
{
    /// <summary>The name of the activity source and the meter: what an exporter subscribes to.</summary>
    public const string Name = "Agentic";

    /// <summary>Every span of the product.</summary>
    public static readonly ActivitySource Source = new(Name, typeof(AgenticTelemetry).Assembly.GetName().Version?.ToString());

    /// <summary>Every instrument of the product.</summary>
    public static readonly Meter Meter = new(Name, typeof(AgenticTelemetry).Assembly.GetName().Version?.ToString());

    /// <summary>Gate decisions, by effect, rule and tool.</summary>
    public static readonly Counter<long> Decisions = Meter.CreateCounter<long>("agentic.gate.decisions", "{decision}", "Gate decisions by effect and rule.");

    /// <summary>Steps waiting for a human right now (the sum over all hosts).</summary>
    public static readonly UpDownCounter<long> ApprovalsPending = Meter.CreateUpDownCounter<long>("agentic.approvals.pending", "{step}", "Steps waiting for approval.");

    /// <summary>How long steps waited for a human, by how the wait ended.</summary>
    public static readonly Histogram<double> ApprovalDuration = Meter.CreateHistogram<double>("agentic.approval.duration", "s", "Time from the gate asking for approval to the wait ending.");

    /// <summary>Tool calls, by tool and outcome.</summary>
    public static readonly Counter<long> ToolCalls = Meter.CreateCounter<long>("agentic.tool.calls", "{call}", "Tool calls by tool and outcome.");

    /// <summary>Tool call latency, by tool and outcome.</summary>
    public static readonly Histogram<double> ToolCallDuration = Meter.CreateHistogram<double>("agentic.tool.call.duration", "s", "Tool call latency by tool and outcome.");

    /// <summary>Ended runs, by agent, status and outcome.</summary>
    public static readonly Counter<long> Runs = Meter.CreateCounter<long>("agentic.runs", "{run}", "Ended runs by agent and outcome.");

    /// <summary>Runs ended by a guard (steps, tool calls, identical calls, budget, plans, deadline).</summary>
    public static readonly Counter<long> GuardTrips = Meter.CreateCounter<long>("agentic.guard.trips", "{run}", "Runs ended by a guard.");

    /// <summary>Steps a kill switch or quarantine stopped, at the gate, before the call or in flight.</summary>
    public static readonly Counter<long> KillSwitchDenials = Meter.CreateCounter<long>("agentic.kill_switch.denials", "{step}", "Steps stopped by a kill switch or quarantine.");

    /// <summary>Signal readings that broke their data contract (and were not used), by agent and signal.</summary>
    public static readonly Counter<long> ContractViolations = Meter.CreateCounter<long>("agentic.perception.contract_violations", "{reading}", "Signal readings that broke their data contract.");

    /// <summary>What retention purged: ended runs' state (<c>run</c>) and audit chains past their retention (<c>audit</c>).</summary>
    public static readonly Counter<long> Purged = Meter.CreateCounter<long>("agentic.retention.purged", "{item}", "Ended runs and audit chains purged past their retention.");

    /// <summary>Monitor ticks, by monitor, outcome and whether they were past due.</summary>
    public static readonly Counter<long> MonitorTicks = Meter.CreateCounter<long>("agentic.monitor.ticks", "{tick}", "Monitor ticks by monitor, outcome and past due.");

    /// <summary>
    /// Records a gate decision: the counter, and the effect and rule on the current (gate) span. Returns
    /// <paramref name="decision"/>, so the gate records in the expression it returns.
    /// </summary>
    public static GateDecision Decided(GateInput input, GateDecision decision)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(decision);
        var effect = Effect(decision.Effect);
        Decisions.Add(1, new(Attr.DecisionEffect, effect), new(Attr.DecisionRule, decision.Rule), new(Attr.ToolName, decision.Tool), new(Attr.AgentName, input.Agent));
        if (string.Equals(decision.PolicyId, Governance.Controls.PolicyId, StringComparison.Ordinal))
        {
            KillSwitchDenials.Add(1, new(Attr.ControlRule, decision.Rule), new(Attr.ControlWhere, "gate"), new(Attr.AgentName, input.Agent));
        }
        Activity.Current?.SetTag(Attr.DecisionEffect, effect)
            .SetTag(Attr.DecisionRule, decision.Rule)
            .SetTag(Attr.PolicyId, decision.PolicyId)
            .SetTag(Attr.PolicyVersion, decision.PolicyVersion)
            .SetTag(Attr.ToolName, decision.Tool);
        return decision;
    }

    /// <summary>Records a step stopped after the gate by a kill switch or quarantine (<paramref name="where"/>: <c>act</c> or <c>in-flight</c>).</summary>
    public static void ControlStopped(string rule, string where, string? agent)
    {
        KillSwitchDenials.Add(1, new(Attr.ControlRule, rule), new(Attr.ControlWhere, where), new(Attr.AgentName, agent ?? ""));
        Activity.Current?.SetTag(Attr.ControlRule, rule);
    }

    /// <summary>Records a signal reading that broke its data contract.</summary>
    public static void ContractViolated(string agent, string signal) =>
        ContractViolations.Add(1, new(Attr.AgentName, agent), new(Attr.SignalName, signal));

    /// <summary>The effect as the policy language spells it.</summary>
    public static string Effect(GateEffect effect) => effect switch
    {
        GateEffect.Permit => "permit",
        GateEffect.Forbid => "forbid",
        GateEffect.RequireApproval => "require_approval",
        _ => effect.ToString(),
    };

    /// <summary>Attribute (tag) names.</summary>
    public static class Attr
    {
        /// <summary>GenAI: the operation (<c>invoke_agent</c>, <c>execute_tool</c>).</summary>
        public const string OperationName = "gen_ai.operation.name";

        /// <summary>GenAI: the agent's name.</summary>
        public const string AgentName = "gen_ai.agent.name";

        /// <summary>GenAI: the agent's id (for a run: the run id, which is its conversation with the world).</summary>
        public const string AgentId = "gen_ai.agent.id";

        /// <summary>GenAI: the tool's name.</summary>
        public const string ToolName = "gen_ai.tool.name";

        /// <summary>GenAI: the tool call's id (<c>{run}/{step}</c>, the idempotency key).</summary>
        public const string ToolCallId = "gen_ai.tool.call.id";

        /// <summary>GenAI: the tool's type.</summary>
        public const string ToolType = "gen_ai.tool.type";

        /// <summary>The run id.</summary>
        public const string RunId = "agentic.run.id";

        /// <summary>The plan step id.</summary>
        public const string StepId = "agentic.step.id";

        /// <summary>The workflow command id (<c>perceive</c>, <c>s2/gate</c>, ...).</summary>
        public const string CommandId = "agentic.command.id";

        /// <summary>The run's status at its end: completed, failed, terminated.</summary>
        public const string RunStatus = "agentic.run.status";

        /// <summary>The run's outcome at its end (remediated, observed, ...; the status when there is none).</summary>
        public const string RunOutcome = "agentic.run.outcome";

        /// <summary>The gate's effect: permit, forbid, require_approval.</summary>
        public const string DecisionEffect = "agentic.decision.effect";

        /// <summary>The rule that decided.</summary>
        public const string DecisionRule = "agentic.decision.rule";

        /// <summary>The deciding policy's id.</summary>
        public const string PolicyId = "agentic.policy.id";

        /// <summary>The deciding policy's version.</summary>
        public const string PolicyVersion = "agentic.policy.version";

        /// <summary>The tool's version.</summary>
        public const string ToolVersion = "agentic.tool.version";

        /// <summary>A tool call's outcome: ok, error, timeout, cancelled.</summary>
        public const string ToolOutcome = "agentic.tool.outcome";

        /// <summary>How an approval wait ended: approved, rejected, timed_out, ended.</summary>
        public const string ApprovalOutcome = "agentic.approval.outcome";

        /// <summary>The guard that ended a run.</summary>
        public const string Guard = "agentic.guard";

        /// <summary>The kill switch or quarantine rule that stopped a step.</summary>
        public const string ControlRule = "agentic.control.rule";

        /// <summary>Where a control stopped a step: gate, act, in-flight.</summary>
        public const string ControlWhere = "agentic.control.where";

        /// <summary>A signal's name in its agent.</summary>
        public const string SignalName = "agentic.signal.name";

        /// <summary>OpenTelemetry: the error's type.</summary>
        public const string ErrorType = "error.type";
    }
}
