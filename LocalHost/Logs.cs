namespace Agentic.LocalHost;

internal static partial class Logs
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Settings from {Path}.")]
    public static partial void LogSettings(this ILogger logger, string path);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Keys for the demo principals {Principals}: {Path} (send one as x-functions-key).")]
    public static partial void LogDemoKeys(this ILogger logger, string path, string principals);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "Audit checkpoints are signed with a dev key; verify with its public key: {Path}.")]
    public static partial void LogAuditKey(this ILogger logger, string path);
}
