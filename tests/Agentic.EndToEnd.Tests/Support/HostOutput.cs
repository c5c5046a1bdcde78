using Agentic.Testing;

namespace Agentic.EndToEnd.Tests.Support;

/// <summary>The hosts' recent output, for failure messages.</summary>
public static class HostOutput
{
    /// <summary>The last lines each host printed.</summary>
    public static string Tail(params AgenticHost[] hosts) =>
        string.Join('\n', hosts.Select(h => $"[{h.Process?.Name ?? "agentic"} on port {h.Port}{(h.Process is { HasExited: true } p ? $", exited with {p.ExitCode}" : "")}]\n{h.Process?.Tail(80) ?? "(never started)"}"));

    /// <summary>How many runs the host's runner ended (it logs "Run {id} ended: {status}.").</summary>
    public static int RunsEnded(AgenticHost host) =>
        host.Process?.Lines.Count(l => l.Contains(" ended: ", StringComparison.Ordinal) && l.Contains("Run run-", StringComparison.Ordinal)) ?? 0;
}
