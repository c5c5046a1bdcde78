using Agentic.Core.Telemetry;
using Microsoft.Extensions.Logging;

namespace Agentic.Functions;

// Source-generated log messages of the Functions host (the workflow's own are Agentic.Durable's). Event ids 10-19:
// triggers; 30-39: start-up.
internal static partial class Logs
{
    [LoggerMessage(EventId = 11, Level = LogLevel.Warning, Message = "Queue message {MessageId} is not a valid run request (delivery {DequeueCount}): {Reason}")]
    public static partial void RunRequestRejected(this ILogger logger, string messageId, long dequeueCount, [SecretData] string reason);

    [LoggerMessage(EventId = 12, Level = LogLevel.Error, Message = "{Method} {Path} failed")]
    public static partial void RequestFailed(this ILogger logger, string method, string path, Exception exception);

    [LoggerMessage(EventId = 30, Level = LogLevel.Warning, Message = "Storage not reachable yet ({Error}); retrying before the tables are created.")]
    public static partial void StorageWaiting(this ILogger logger, [SecretData] string error);
}
