namespace Agentic.Bench.HomeRunner;

/// <summary>The runner's status of a run, beside the decider's own state.</summary>
public enum RunStatus
{
    /// <summary>Still going.</summary>
    Running,
    /// <summary>Ended with <c>CompleteRun</c>.</summary>
    Completed,
    /// <summary>Ended with <c>FailRun</c>, or failed by the runner (a poison message).</summary>
    Failed,
    /// <summary>Ended by an operator.</summary>
    Terminated,
}

/// <summary>A run as stored: the runner's envelope around the decider's state.</summary>
/// <typeparam name="TState">The decider's state.</typeparam>
public sealed record RunRecord<TState>(
    string RunId,
    RunStatus Status,
    TState State,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    IReadOnlyList<string> Outstanding,
    int Events,
    string? RunnerFailure);
