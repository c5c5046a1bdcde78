namespace Agentic.Bench.Load;

/// <summary>Step latencies and percentiles.</summary>
internal static class Stats
{
    /// <summary>The definition, printed with the numbers.</summary>
    public const string StepDefinition =
        "Step latency: from the previous step's 'acted' mark (the 'planned' mark for step 1) to this step's 'acted' mark, i.e. one full gate -> act cycle " +
        "with both completions applied and both activities dispatched; gate-to-act: from the step's 'decided' mark to its 'acted' mark. Marks: the " +
        "orchestration time of the episode that takes the completion up.";

    /// <summary>
    /// Step latency, the same definition on every side: from the previous step's "acted" mark (for the first step, the
    /// "planned" mark) to this step's "acted" mark, and "gate to act", from the "decided" mark to the "acted" mark of the
    /// same step. Marks are the run log's entries (the orchestrator stamps them with the time of the episode that applies the
    /// completion) or the bare orchestrator's own stamps
    /// taken at the same points. Consecutive marks of the same kind are one full cycle apart either way: the apply of the
    /// previous completion and the dispatch of the gate, the gate activity, the apply of its decision and the dispatch of
    /// the act, and the act activity.
    /// </summary>
    public static (List<double> Steps, List<double> GateToAct) StepLatencies(IEnumerable<(string Kind, double AtMs)> marks)
    {
        ArgumentNullException.ThrowIfNull(marks);
        var steps = new List<double>();
        var gateToAct = new List<double>();
        double? previous = null;
        double? decided = null;
        foreach (var (kind, at) in marks)
        {
            switch (kind)
            {
                case "planned":
                    previous = at;
                    break;
                case "decided":
                    decided = at;
                    break;
                case "acted":
                    if (previous is { } p)
                    {
                        steps.Add(at - p);
                    }
                    if (decided is { } d)
                    {
                        gateToAct.Add(at - d);
                    }
                    previous = at;
                    decided = null;
                    break;
            }
        }
        return (steps, gateToAct);
    }

    /// <summary>Nearest-rank percentile of <paramref name="values"/> (0 when empty).</summary>
    public static double Percentile(IReadOnlyCollection<double> values, double percentile)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0)
        {
            return 0;
        }
        var sorted = values.Order().ToArray();
        var rank = (int)Math.Ceiling(percentile / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }
}
