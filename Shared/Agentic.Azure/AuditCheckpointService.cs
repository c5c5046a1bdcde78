using Agentic.Core.Audit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Agentic.Azure;

/// <summary>
/// Signs a checkpoint of the chain heads this process appended every <see cref="AuditOptions.CheckpointSeconds"/>
/// (runs that wait long, the control chain), besides the one each run's end signs. Idle, it does nothing: no head, no
/// storage request. The host does not start without a signing key it can load: checkpoints would fail later, silently.
/// </summary>
public sealed partial class AuditCheckpointService(AuditCheckpointer checkpointer, AuditSigner signer, IOptions<AuditOptions> options, TimeProvider clock, ILogger<AuditCheckpointService> logger) : BackgroundService
{
    /// <inheritdoc />
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        var key = await signer.PublicKeyAsync(cancellationToken);
        SigningWith(logger, key.KeyId);
        await base.StartAsync(cancellationToken);
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Max(1, options.Value.CheckpointSeconds)), clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await FlushAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <inheritdoc />
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        // What was appended since the last tick is signed before the host goes.
        await FlushAsync(cancellationToken);
    }

    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        try
        {
            await checkpointer.CheckpointAsync(null, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The heads stay pending; the next tick tries again.
            CheckpointFailed(logger, ex.GetType().Name, ex.Message);
        }
    }

    [LoggerMessage(EventId = 60, Level = LogLevel.Information, Message = "Audit checkpoints are signed with key {KeyId}")]
    private static partial void SigningWith(ILogger logger, string keyId);

    [LoggerMessage(EventId = 61, Level = LogLevel.Warning, Message = "Audit checkpoint failed ({Error}): {Message}; the heads stay pending")]
    private static partial void CheckpointFailed(ILogger logger, string error, [Agentic.Core.Telemetry.SecretData] string message);
}
