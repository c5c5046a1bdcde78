using Agentic.Core.Governance;
using Agentic.Core.Planning;
using Agentic.Core.Runs;
using Agentic.Core.Telemetry;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Agentic.Durable;

/// <summary>What one retention sweep did.</summary>
/// <param name="Cutoff">Runs that ended before this were purged.</param>
/// <param name="Purged">Runs whose state was purged.</param>
/// <param name="More">Whether more runs (or drift events) qualified than one sweep purges (<see cref="RetentionOptions.SweepLimit"/>).</param>
public sealed record RetentionSweep(DateTimeOffset Cutoff, int Purged, bool More)
{
    /// <summary>Planning drift events deleted for being older than the longest drift window (<see cref="DriftWindows.Longest"/>).</summary>
    public int DriftPurged { get; init; }
}

/// <summary>
/// Purges the state of runs that ended more than <see cref="RetentionOptions.RunDays"/> ago, in both hosts: the
/// product's rows of the run (<see cref="IRunStateStore"/>), then the engine's instance and history through the
/// <see cref="DurableTaskClient"/> the host has (the local engine's, or the Functions app's bound client). A run still
/// running, suspended or waiting for a human is never touched, however old; its audit chain is never touched at all.
/// The same sweep deletes planning drift older than the longest window a drift report covers, which nothing reads again.
/// </summary>
public sealed class RunRetention(IRunStateStore runs, IOptions<RetentionOptions> options, TimeProvider clock, ILogger<RunRetention> logger, IDriftStore? drift = null)
{
    private static readonly OrchestrationRuntimeStatus[] Ended =
        [OrchestrationRuntimeStatus.Completed, OrchestrationRuntimeStatus.Failed, OrchestrationRuntimeStatus.Terminated];

    /// <summary>Purges up to <see cref="RetentionOptions.SweepLimit"/> runs that ended before the retention cutoff.</summary>
    public async Task<RetentionSweep> SweepAsync(DurableTaskClient client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        var settings = options.Value;
        var cutoff = clock.GetUtcNow() - TimeSpan.FromDays(settings.RunDays);
        // A run created after the cutoff can not have ended before it; the engine filters on creation time and status.
        var query = new OrchestrationQuery(CreatedTo: cutoff, Statuses: Ended, PageSize: 100);
        var purged = 0;
        var more = false;
        await foreach (var instance in client.GetAllInstancesAsync(query).WithCancellation(cancellationToken))
        {
            if (instance.LastUpdatedAt >= cutoff)
            {
                continue;
            }
            if (purged == settings.SweepLimit)
            {
                more = true;
                break;
            }
            // The product's rows first: if the sweep stops between the two, the instance is still listed and the next
            // sweep finishes the run.
            await runs.DeleteRunAsync(instance.InstanceId, cancellationToken);
            await client.PurgeInstanceAsync(instance.InstanceId, cancellation: cancellationToken);
            purged++;
        }
        if (purged > 0)
        {
            AgenticTelemetry.Purged.Add(purged, new KeyValuePair<string, object?>("agentic.retention.kind", "run"));
            logger.RetentionSwept(purged, cutoff, more);
        }
        var driftPurged = drift is null ? 0 : await drift.PurgeAsync(clock.GetUtcNow() - DriftWindows.Longest, settings.SweepLimit, cancellationToken);
        if (driftPurged > 0)
        {
            AgenticTelemetry.Purged.Add(driftPurged, new KeyValuePair<string, object?>("agentic.retention.kind", "drift"));
        }
        return new RetentionSweep(cutoff, purged, more || driftPurged == settings.SweepLimit) { DriftPurged = driftPurged };
    }
}
