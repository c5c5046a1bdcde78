using Agentic.Core.Telemetry;
using Microsoft.Extensions.Logging;

namespace Agentic.Runtime;

// Parameters that can quote text from outside this code (errors, reasons) are [SecretData]: redacted by the hosts.
internal static partial class Logs
{

    [LoggerMessage(EventId = 111, Level = LogLevel.Warning, Message = "Message moved to {Queue}: {Reason}")]
    public static partial void Poisoned(this ILogger logger, string queue, [SecretData] string reason);

    [LoggerMessage(EventId = 112, Level = LogLevel.Warning, Message = "Queue {Queue} unavailable, backing off {DelayMs} ms: {Error}")]
    public static partial void QueueUnavailable(this ILogger logger, string queue, int delayMs, [SecretData] string error);

    [LoggerMessage(EventId = 113, Level = LogLevel.Error, Message = "Handling a message from {Queue} failed; it will be retried after its lease.")]
    public static partial void HandlerFailed(this ILogger logger, Exception exception, string queue);

    [LoggerMessage(EventId = 114, Level = LogLevel.Information, Message = "Queue {Queue}: stopping, {InFlight} message(s) in hand.")]
    public static partial void Draining(this ILogger logger, string queue, int inFlight);

    [LoggerMessage(EventId = 120, Level = LogLevel.Warning, Message = "Storage not reachable yet ({Error}); retrying.")]
    public static partial void StorageWaiting(this ILogger logger, [SecretData] string error);

    [LoggerMessage(EventId = 122, Level = LogLevel.Warning, Message = "Run request rejected to {Queue}: {Reason}")]
    public static partial void RunRequestRejected(this ILogger logger, string queue, [SecretData] string reason);

    [LoggerMessage(EventId = 140, Level = LogLevel.Warning, Message = "Unauthenticated {Method} {Path} refused: {Reason}")]
    public static partial void AuthenticationFailed(this ILogger logger, string method, string path, [SecretData] string reason);

    [LoggerMessage(EventId = 141, Level = LogLevel.Warning, Message = "{Method} {Path} refused to {Principal}: {Reason}")]
    public static partial void AccessRefused(this ILogger logger, string method, string path, string principal, [SecretData] string reason);
}
