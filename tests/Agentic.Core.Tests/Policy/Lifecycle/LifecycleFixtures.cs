using System.Text.Json;
using Agentic.Core.Agents;
using Agentic.Core.Policy.Language;
using Agentic.Core.Policy.Lifecycle;
using Agentic.Core.Tools;

namespace Agentic.Core.Tests.Policy.Lifecycle;

/// <summary>Policies, decisions and a clock for the lifecycle tests.</summary>
internal static class LifecycleFixtures
{
    public static readonly DateTimeOffset T0 = new(2025, 3, 1, 9, 0, 0, TimeSpan.Zero);

    /// <summary>A policy that permits read-only tools and forbids <paramref name="forbidden"/> (when given).</summary>
    public static string Yaml(string id, string version, string? forbidden = null, string mode = "enforce")
    {
        var forbid = forbidden is null ? "" : $"""
              - id: no-{forbidden.Replace('.', '-')}
                effect: forbid
                when: tool.name == '{forbidden}'

            """;
        return $"""
            id: {id}
            version: "{version}"
            mode: {mode}
            rules:
            {forbid}  - id: permit-read-only
                effect: permit
                when: tool.sideEffect == 'read-only'
              - id: approve-high-risk
                effect: require_approval
                when: tool.risk in ['high', 'critical']
                approval:
                  role: operator
                  timeout: 30m

            """;
    }

    public static ConfiguredPolicy Configured(string yaml, string? path = "configured.yaml") => new(PolicyLoader.Load(yaml, path ?? "inline.yaml"), yaml, path);

    public static async Task<PolicyVersionInfo> SaveAsync(IPolicyStore store, string yaml, string by = "alice")
    {
        var policy = PolicyLoader.Load(yaml, "test.yaml");
        return (await store.SaveAsync(policy.Id, policy.Version, yaml, by, TestContext.Current.CancellationToken)).Version;
    }

    /// <summary>A decision the gate recorded for one step, with its request snapshot.</summary>
    public static GateDecision Decision(string runId, string stepId, string tool, GateEffect effect, string rule, RiskLevel risk = RiskLevel.Low, SideEffect sideEffect = SideEffect.ReadOnly, bool withRequest = true, int hour = 9) =>
        new(runId, stepId, tool, "1.0.0", "sha256:args", effect, "baseline", "3", rule, "recorded", null, T0.AddMinutes(stepId.Length), "sha256:baseline")
        {
            Request = withRequest
                ? new DecisionRequest("requester", ["operator"], "service-healer", "supervised", tool, "1.0.0", risk, sideEffect, [],
                    JsonDocument.Parse("""{"target":"checkout"}""").RootElement.Clone(), "checkout", "prod", hour, 0, 1)
                : null,
        };
}

/// <summary>A clock the test moves by hand (both wall time and the monotonic timestamp).</summary>
internal sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private long _ticks;

    public DateTimeOffset Now { get; private set; } = start;

    public override DateTimeOffset GetUtcNow() => Now;

    public override long GetTimestamp() => _ticks;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public void Advance(TimeSpan by)
    {
        Now += by;
        _ticks += by.Ticks;
    }
}
