using Microsoft.DurableTask.Client;

namespace Agentic.Durable.Tests.Support;

internal static class RunChecks
{
    /// <summary>
    /// The run ended with <paramref name="status"/> through the workflow: the orchestrator returned the run's document
    /// (a fault in the orchestrator, such as a non-determinism error on replay, would leave the engine's status Failed).
    /// </summary>
    public static void Ended(AgentRun run, string status)
    {
        Assert.Equal(OrchestrationRuntimeStatus.Completed, run.EngineStatus);
        Assert.Equal(status, run.Status);
        Assert.Equal(status switch { "completed" => "Completed", "terminated" => "Terminated", _ => "Failed" }, run.View.Phase);
        Assert.Null(run.View.PendingApproval);
    }

    /// <summary>Each step's id and status, in order.</summary>
    public static void Steps(AgentRun run, params string[] expected) =>
        Assert.Equal(expected, run.View.Steps.Select(s => $"{s.StepId}:{s.Status}"));

    /// <summary>
    /// Every execution of the run's orchestrator (the engine replays the whole history on each wake-up) issued the same
    /// commands, in the same order and with the same inputs, as the longest execution of its generation, up to where its
    /// history ended: replay is deterministic, checked command by command rather than only by the engine's coarser task
    /// name check. (Comparing with the longest, not the one before, because the engine may deliver an old work item again,
    /// late, and that execution then replays a shorter history.) Returns the run's commands, generation by generation.
    /// </summary>
    public static IReadOnlyList<string> ReplayedIdentically(DurableHost host, string runId)
    {
        var episodes = host.Recorder.Episodes(runId);
        Assert.True(episodes.Count >= 2, $"Run {runId} ran its orchestrator {episodes.Count} time(s); a run with events replays.");
        Assert.Contains(episodes, e => e.StartedReplaying);
        var commands = new List<string>();
        foreach (var generation in episodes.GroupBy(e => e.Generation).OrderBy(g => g.Key))
        {
            var full = generation.MaxBy(e => e.Commands.Count)!.Commands;
            foreach (var (episode, i) in generation.Select((e, i) => (e.Commands, i)))
            {
                var differs = Enumerable.Range(0, episode.Count).FirstOrDefault(k => episode[k] != full[k], -1);
                Assert.True(differs < 0,
                    $"Generation {generation.Key}, execution {i + 1} of {generation.Count()}: command {differs + 1} was '{(differs >= 0 ? episode[differs] : "")}', in the longest execution '{(differs >= 0 ? full[differs] : "")}'.");
            }
            commands.AddRange(full);
        }
        return commands;
    }
}
