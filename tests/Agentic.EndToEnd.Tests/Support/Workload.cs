using System.Globalization;
using Agentic.Testing;

namespace Agentic.EndToEnd.Tests.Support;

/// <summary>One run a test means to submit: the agent, the fleet service it targets, and its request body.</summary>
public sealed record PlannedRun(string Agent, string Service, object Body)
{
    /// <summary>Service-healer runs restart their degraded target, once, after an operator approves.</summary>
    public bool Heals => Agent == Workload.Healer;
}

/// <summary>Run requests and the mixed batches the resilience tests submit.</summary>
public static class Workload
{
    /// <summary>The agent that restarts a degraded service (its step s2 needs an operator's approval).</summary>
    public const string Healer = "service-healer";

    /// <summary>The read-only agent that takes <c>parameters.probes</c> diagnostics samples.</summary>
    public const string Diagnostics = "diagnostics";

    /// <summary>The step of a service-healer run that restarts the service.</summary>
    public const string RestartStep = "s2";

    /// <summary>A service-healer request; the idempotency key makes resubmitting it safe.</summary>
    public static object HealerBody(string target, string? idempotencyKey = null) =>
        new { agent = Healer, target, goal = "Keep the service healthy", idempotencyKey };

    /// <summary>A diagnostics request taking <paramref name="probes"/> samples.</summary>
    public static object DiagnosticsBody(string target, int probes, string? idempotencyKey = null) =>
        new { agent = Diagnostics, target, parameters = new { probes }, idempotencyKey };

    /// <summary>
    /// Degrades services <c>svc-1</c>..<c>svc-{healers}</c> of <paramref name="fleet"/> and returns one healer run per
    /// degraded service plus <paramref name="diagnostics"/> diagnostics runs (on healthy services), shuffled together.
    /// Every body carries a fresh idempotency key.
    /// </summary>
    public static async Task<IReadOnlyList<PlannedRun>> PrepareAsync(SampleFleet fleet, int healers, int diagnostics, int probes, Random random)
    {
        ArgumentNullException.ThrowIfNull(fleet);
        ArgumentNullException.ThrowIfNull(random);
        var runs = new List<PlannedRun>();
        for (var i = 1; i <= healers; i++)
        {
            var service = "svc-" + i.ToString(CultureInfo.InvariantCulture);
            await fleet.DegradeAsync(service);
            runs.Add(new(Healer, service, HealerBody(fleet.Target(service), Key())));
        }
        for (var i = 1; i <= diagnostics; i++)
        {
            var service = "diag-" + i.ToString(CultureInfo.InvariantCulture);
            runs.Add(new(Diagnostics, service, DiagnosticsBody(fleet.Target(service), probes, Key())));
        }
        var shuffled = runs.ToArray();
        random.Shuffle(shuffled);
        return shuffled;
    }

    private static string Key() => "e2e-" + Guid.NewGuid().ToString("N");
}
