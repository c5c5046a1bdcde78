using Agentic.Testing;

namespace Agentic.EndToEnd.Tests.Support;

/// <summary>The hosts' recent output, for failure messages.</summary>
public static class HostOutput
{
    /// <summary>The last lines each host printed.</summary>
    public static string Tail(params AgenticHost[] hosts) =>
        string.Join('\n', hosts.Select(h => $"[{h.Process?.Name ?? "agentic"} on port {h.Port}{(h.Process is { HasExited: true } p ? $", exited with {p.ExitCode}" : "")}]\n{h.Process?.Tail(80) ?? "(never started)"}"));

    /// <summary>How many runs the host's engine ended (the orchestrator logs "Run {id} ended {status}: {summary}" once, on the host that ran its last step).</summary>
    public static int RunsEnded(AgenticHost host) =>
        host.Process?.Lines.Count(l => l.Contains("AgentRunOrchestrator[4] Run run-", StringComparison.Ordinal) && l.Contains(" ended ", StringComparison.Ordinal)) ?? 0;
}
