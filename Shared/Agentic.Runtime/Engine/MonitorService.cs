using Agentic.Core.Monitors;
using Agentic.Durable;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Agentic.Runtime.Engine;

/// <summary>
/// The local host's monitor timer: once the engine takes work it ticks whatever is due (after downtime, each missed
/// schedule once, past due), then sleeps until the next occurrence of any enabled monitor's own schedule (NCrontab, UTC)
/// and ticks again, through the same <see cref="MonitorScheduler"/> the Functions app's timer trigger calls. Hosts sharing
/// a hub all run it; the scheduler's claim lets one of them take each occurrence. With no monitor enabled it does nothing.
/// </summary>
public sealed partial class MonitorService(
    EngineService engine,
    MonitorScheduler scheduler,
    AgentRunClient runs,
    TimeProvider clock,
    ILogger<MonitorService> logger) : BackgroundService
{
    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await engine.Ready.WaitAsync(stoppingToken);
            var monitorRuns = new MonitorRuns(runs);
            while (true)
            {
                try
                {
                    await scheduler.TickDueAsync(monitorRuns, pastDue: false, stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    EvaluationFailed(logger, ex.GetType().Name, ex.Message);
                }
                var now = clock.GetUtcNow();
                if (scheduler.NextDue(now) is not { } next)
                {
                    return;
                }
                await Task.Delay(next - now, clock, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(EventId = 160, Level = LogLevel.Warning, Message = "Monitor evaluation failed ({Error}): {Message}; tried again at the next occurrence")]
    private static partial void EvaluationFailed(ILogger logger, string error, [Agentic.Core.Telemetry.SecretData] string message);
}
