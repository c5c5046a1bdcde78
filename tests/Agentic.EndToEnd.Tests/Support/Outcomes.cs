using System.Net.Http.Json;
using System.Text.Json;
using Agentic.Testing;

namespace Agentic.EndToEnd.Tests.Support;

/// <summary>What the fleet saw: side effects, and how many calls repeated one (answered from its idempotency cache).</summary>
public sealed record EffectCounts(int Effects, int Requests, int RepeatedKeys);

/// <summary>The assertions every resilience test ends with: each accepted run completed, each side effect happened once.</summary>
public static class Outcomes
{
    /// <summary>Every run ended <c>completed</c> with the outcome its agent produces on success.</summary>
    public static void AssertAllCompleted(IReadOnlyCollection<TrackedRun> runs, Func<string> context)
    {
        ArgumentNullException.ThrowIfNull(runs);
        ArgumentNullException.ThrowIfNull(context);
        var wrong = runs.Where(r => r.Final?.Status != "completed" || r.Final.Output?.Outcome != (r.Plan.Heals ? "remediated" : "done")).ToList();
        Assert.True(wrong.Count == 0,
            $"{wrong.Count} of {runs.Count} run(s) did not complete as expected:\n" + string.Join('\n', wrong.Select(RunTracker.Describe)) + "\n--- host output ---\n" + context());
    }

    /// <summary>
    /// Every healer run restarted its service exactly once, under the key <c>{runId}/s2</c>; no side effect was applied
    /// twice; the fleet saw no side effect that no accepted run explains; each degraded service was restarted once.
    /// </summary>
    public static async Task<EffectCounts> AssertEachSideEffectOnceAsync(SampleFleet fleet, IReadOnlyCollection<TrackedRun> runs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(fleet);
        ArgumentNullException.ThrowIfNull(runs);
        var effects = await fleet.EffectsAsync();
        var byKey = effects.ToDictionary(e => e.Key, StringComparer.Ordinal);
        var problems = new List<string>();
        var healers = runs.Where(r => r.Plan.Heals).ToList();
        foreach (var run in healers)
        {
            var key = $"{run.Id}/{Workload.RestartStep}";
            if (!byKey.TryGetValue(key, out var effect))
            {
                problems.Add($"no side effect for {key} ({run.Plan.Service})");
            }
            else if (effect.Applied != 1 || effect.Operation != "restart" || effect.Service != run.Plan.Service)
            {
                problems.Add($"{key}: {effect.Operation} of {effect.Service} applied {effect.Applied} time(s), expected one restart of {run.Plan.Service}");
            }
            var restarts = await RestartsAsync(fleet, run.Plan.Service, cancellationToken);
            if (restarts != 1)
            {
                problems.Add($"service {run.Plan.Service} was restarted {restarts} time(s)");
            }
        }
        var expected = healers.Select(r => $"{r.Id}/{Workload.RestartStep}").ToHashSet(StringComparer.Ordinal);
        problems.AddRange(effects.Where(e => e.Applied > 1).Select(e => $"{e.Key}: applied {e.Applied} times"));
        problems.AddRange(effects.Where(e => !expected.Contains(e.Key)).Select(e => $"{e.Key}: unexpected {e.Operation} of {e.Service} (applied {e.Applied})"));
        Assert.True(problems.Count == 0, "Side effects not exactly once:\n  " + string.Join("\n  ", problems));
        return new EffectCounts(effects.Count, effects.Sum(e => e.Requests), effects.Count(e => e.Requests > 1));
    }

    private static async Task<int> RestartsAsync(SampleFleet fleet, string service, CancellationToken cancellationToken)
    {
        var health = await fleet.Http.GetFromJsonAsync<JsonElement>(new Uri(fleet.Target(service) + "/health"), cancellationToken);
        return health.GetProperty("restarts").GetInt32();
    }
}
