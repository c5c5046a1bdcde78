namespace Agentic.Bench.Load;

/// <summary>Step latencies and percentiles.</summary>
internal static class Stats
{
    /// <summary>The definition, printed with the numbers.</summary>
    public const string StepDefinition =
        "Step latency: from the previous step's act completion (the plan's completion for step 1) to this step's act completion, " +
        "i.e. one full gate -> act cycle with both event applies and dispatches; gate-to-act: from the gate's completion to the act's.";

    /// <summary>
    /// Step latency, the same for runner and floor: from the previous step's "acted" stamp (for the first
    /// step, the "planned" stamp) to this step's "acted" stamp. The stamps are activity completion times, so
    /// one step's interval holds everything one step costs: the apply of the previous completion and the
    /// dispatch of the gate, the gate activity, the apply of its decision and the dispatch of the act, and
    /// the act activity. Also "gate to act": from the "decided" stamp to the "acted" stamp of the same step.
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
