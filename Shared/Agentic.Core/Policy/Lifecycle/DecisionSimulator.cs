using System.Globalization;
using System.Text;
using Agentic.Core.Agents;
using Agentic.Core.Policy.Language;

namespace Agentic.Core.Policy.Lifecycle;

/// <summary>
/// Recorded gate decisions across runs, for <c>agentic policy simulate</c>. A log that can not answer throws.
/// </summary>
public interface IDecisionLog
{
    /// <summary>
    /// Up to <paramref name="max"/> recorded decisions made at or after <paramref name="since"/> (all, when <c>null</c>),
    /// in storage order (not by time).
    /// </summary>
    IAsyncEnumerable<GateDecision> ReadDecisionsAsync(DateTimeOffset? since, int max, CancellationToken cancellationToken);
}

/// <summary>One recorded decision a candidate policy would decide otherwise.</summary>
/// <param name="RunId">The run.</param>
/// <param name="StepId">The step.</param>
/// <param name="Tool">The tool the step calls.</param>
/// <param name="DecidedAt">When the recorded decision was made.</param>
/// <param name="OldEffect">The recorded effect.</param>
/// <param name="OldRule">The recorded rule.</param>
/// <param name="OldPolicy">The recorded policy, <c>id@version</c>.</param>
/// <param name="NewEffect">The candidate's effect.</param>
/// <param name="NewRule">The candidate's rule.</param>
/// <param name="NewReason">The candidate's reason.</param>
public sealed record SimulatedChange(
    string RunId,
    string StepId,
    string Tool,
    DateTimeOffset DecidedAt,
    GateEffect OldEffect,
    string OldRule,
    string OldPolicy,
    GateEffect NewEffect,
    string NewRule,
    string NewReason);

/// <summary>What a candidate policy would have decided differently, over a set of recorded decisions.</summary>
/// <param name="PolicyId">The candidate's id.</param>
/// <param name="PolicyVersion">The candidate's version.</param>
/// <param name="ContentHash">The candidate's content hash.</param>
/// <param name="Evaluated">Recorded decisions re-evaluated with the candidate.</param>
/// <param name="Skipped">Recorded decisions that could not be re-evaluated: no policy made them (controls, unknown tools, bad arguments) or their request snapshot is missing or invalid.</param>
/// <param name="Changes">Every re-evaluated decision whose effect or rule would change, oldest first.</param>
public sealed record SimulationReport(string PolicyId, string PolicyVersion, string ContentHash, int Evaluated, int Skipped, IReadOnlyList<SimulatedChange> Changes)
{
    /// <summary>How many decisions would change.</summary>
    public int Changed => Changes.Count;

    /// <summary>The summary line: <c>N decisions re-evaluated, M would change, K not re-evaluable</c>.</summary>
    public string Summary => string.Create(CultureInfo.InvariantCulture, $"{Evaluated} decisions re-evaluated, {Changed} would change, {Skipped} not re-evaluable");

    /// <summary>The report as a table of changes (one line each) followed by the summary line.</summary>
    public string Format()
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"Candidate {PolicyLifecycle.Name(PolicyId, PolicyVersion)} ({ContentHash})").AppendLine();
        if (Changes.Count > 0)
        {
            string[] header = ["DECIDED AT", "RUN", "STEP", "TOOL", "RECORDED", "CANDIDATE"];
            var rows = Changes.Select(c => new[]
            {
                c.DecidedAt.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
                c.RunId,
                c.StepId,
                c.Tool,
                $"{PolicyEffects.Name(c.OldEffect)} by {c.OldPolicy}/{c.OldRule}",
                $"{PolicyEffects.Name(c.NewEffect)} by {c.NewRule}",
            }).ToList();
            var widths = header.Select((h, i) => rows.Select(r => r[i].Length).Append(h.Length).Max()).ToArray();
            void Line(string[] cells) => text.AppendJoin("  ", cells.Select((c, i) => i == cells.Length - 1 ? c : c.PadRight(widths[i]))).AppendLine();
            Line(header);
            foreach (var row in rows)
            {
                Line(row);
            }
        }
        return text.Append(Summary).AppendLine().ToString();
    }
}

/// <summary>
/// What-if: evaluates recorded decisions again with a candidate policy and reports every decision whose effect or
/// rule would change. Pure: no I/O, no clock. The request of each decision is rebuilt from its recorded snapshot
/// (<see cref="GateDecision.Request"/>, with <see cref="PolicyGate.Rebuild"/>); decisions without one (made by controls, for unknown tools or bad arguments)
/// are counted as not re-evaluable.
/// </summary>
/// <remarks>
/// The candidate's answer goes through the same autonomy rules the gate applied (<see cref="PolicyGate.Apply(PolicyDecision, string, Tools.RiskLevel, Tools.SideEffect, IReadOnlyList{string}, bool)"/>,
/// with the autonomy level recorded in the snapshot), and is compared with the decision as recorded: its effect and rule.
/// </remarks>
public static class DecisionSimulator
{
    /// <summary>Re-evaluates <paramref name="decisions"/> with <paramref name="candidate"/>.</summary>
    public static SimulationReport Simulate(IEnumerable<GateDecision> decisions, CompiledPolicy candidate)
    {
        ArgumentNullException.ThrowIfNull(decisions);
        ArgumentNullException.ThrowIfNull(candidate);
        var tally = new Tally(candidate);
        foreach (var decision in decisions)
        {
            tally.Add(decision);
        }
        return tally.Report();
    }

    /// <summary>Re-evaluates <paramref name="decisions"/> as they arrive (from an <see cref="IDecisionLog"/>) with <paramref name="candidate"/>.</summary>
    public static async Task<SimulationReport> SimulateAsync(IAsyncEnumerable<GateDecision> decisions, CompiledPolicy candidate, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(decisions);
        ArgumentNullException.ThrowIfNull(candidate);
        var tally = new Tally(candidate);
        await foreach (var decision in decisions.WithCancellation(cancellationToken))
        {
            tally.Add(decision);
        }
        return tally.Report();
    }

    /// <summary>The candidate's change for one decision, <c>null</c> if it would decide the same, or <c>false</c> in <paramref name="evaluable"/> when it can not be re-evaluated.</summary>
    public static SimulatedChange? Evaluate(GateDecision decision, CompiledPolicy candidate, out bool evaluable)
    {
        ArgumentNullException.ThrowIfNull(decision);
        ArgumentNullException.ThrowIfNull(candidate);
        evaluable = false;
        if (decision.Request is not { } snapshot)
        {
            return null;
        }
        PolicyRequest request;
        try
        {
            request = PolicyGate.Rebuild(snapshot);
        }
        catch (ArgumentException)
        {
            // A snapshot no request can be built from (an hour out of range, an unknown risk): nothing to compare.
            return null;
        }
        evaluable = true;
        var result = PolicyGate.Apply(candidate.Evaluate(in request), snapshot.Autonomy, snapshot.Risk, snapshot.SideEffect, snapshot.Tainted ? snapshot.TaintSources ?? [] : null, snapshot.DataEntry);
        return result.Effect == decision.Effect && string.Equals(result.Rule, decision.Rule, StringComparison.Ordinal)
            ? null
            : new SimulatedChange(decision.RunId, decision.StepId, decision.Tool, decision.DecidedAt,
                decision.Effect, decision.Rule, PolicyLifecycle.Name(decision.PolicyId, decision.PolicyVersion),
                result.Effect, result.Rule, result.Reason);
    }

    private sealed class Tally(CompiledPolicy candidate)
    {
        private readonly List<SimulatedChange> _changes = [];
        private int _evaluated;
        private int _skipped;

        public void Add(GateDecision decision)
        {
            ArgumentNullException.ThrowIfNull(decision);
            var change = Evaluate(decision, candidate, out var evaluable);
            if (!evaluable)
            {
                _skipped++;
                return;
            }
            _evaluated++;
            if (change is not null)
            {
                _changes.Add(change);
            }
        }

        public SimulationReport Report() => new(candidate.Id, candidate.Version, candidate.ContentHash, _evaluated, _skipped,
            [.. _changes.OrderBy(c => c.DecidedAt).ThenBy(c => c.RunId, StringComparer.Ordinal).ThenBy(c => c.StepId, StringComparer.Ordinal)]);
    }
}
