using System.Diagnostics.Metrics;

namespace Agentic.Core.Audit;

/// <summary>The audit trail's instruments: append latency, conflicts, checkpoints and verification failures.</summary>
internal static class AuditMetrics
{
    // The product's one meter: whatever listens to "Agentic" gets these too.
    private static readonly Meter Meter = Telemetry.AgenticTelemetry.Meter;
    private static readonly Histogram<double> AppendLatency = Meter.CreateHistogram<double>("agentic.audit.append.duration", "s", "Time to append one audit record, retries included.");
    private static readonly Counter<long> Conflicts = Meter.CreateCounter<long>("agentic.audit.conflicts", description: "Records refused because their id held other content.");
    private static readonly Counter<long> Checkpoints = Meter.CreateCounter<long>("agentic.audit.checkpoints", description: "Signed checkpoints appended.");
    private static readonly Counter<long> VerificationFailures = Meter.CreateCounter<long>("agentic.audit.verification.failures", description: "Chains or checkpoints that failed verification.");

    public static void Appended(TimeSpan took) => AppendLatency.Record(took.TotalSeconds);

    public static void Conflict() => Conflicts.Add(1);

    public static void Checkpointed() => Checkpoints.Add(1);

    public static void Purged(int chains) => Telemetry.AgenticTelemetry.Purged.Add(chains, new KeyValuePair<string, object?>("agentic.retention.kind", "audit"));

    public static void VerificationFailed(string what) => VerificationFailures.Add(1, new KeyValuePair<string, object?>("agentic.audit.failure", what));
}
