using Agentic.Core.Runs;
using Agentic.Durable;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Agentic.Runtime.Engine;

/// <summary>
/// The local host's retention sweep: once the engine takes work, and every <see cref="RetentionOptions.SweepMinutes"/>
/// after, <see cref="RunRetention"/> purges the runs that ended longer ago than the retention. Hosts sharing a hub may
/// sweep at once; a run purged by one is simply not listed for the other. A failed sweep is logged and tried again at
/// the next tick.
/// </summary>
public sealed partial class RetentionService(
    EngineService engine,
    RunRetention retention,
    DurableTaskClient client,
    IOptions<RetentionOptions> options,
    TimeProvider clock,
    ILogger<RetentionService> logger) : BackgroundService
{
    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await engine.Ready.WaitAsync(stoppingToken);
            using var timer = new PeriodicTimer(TimeSpan.FromMinutes(options.Value.SweepMinutes), clock);
            do
            {
                try
                {
                    // A sweep that hit the limit goes on at once: a backlog drains without waiting a tick per batch.
                    while ((await retention.SweepAsync(client, stoppingToken)).More)
                    {
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    SweepFailed(logger, ex.GetType().Name, ex.Message);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(EventId = 130, Level = LogLevel.Warning, Message = "Retention sweep failed ({Error}): {Message}; tried again at the next tick")]
    private static partial void SweepFailed(ILogger logger, string error, [Agentic.Core.Telemetry.SecretData] string message);
}
