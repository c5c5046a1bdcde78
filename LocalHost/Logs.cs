namespace Agentic.LocalHost;

internal static partial class Logs
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Settings from {Path}.")]
    public static partial void LogSettings(this ILogger logger, string path);
}
