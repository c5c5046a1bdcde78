using System.Text.Json;
using System.Text.Json.Serialization;

namespace Agentic.Core.Workflow;

/// <summary>
/// A workflow as a pure state machine. Hosts (the Durable orchestrator, the local runner, tests)
/// interpret it: they issue the commands <see cref="Decide"/> returns and feed back what happened
/// through <see cref="Evolve"/>. No I/O, clock or randomness happens inside: time and ids arrive
/// in the start context and in events, so replay and re-evaluation are deterministic.
/// </summary>
/// <typeparam name="TInput">What starts a run.</typeparam>
/// <typeparam name="TState">The run's state; must round-trip through System.Text.Json.</typeparam>
public interface IDecider<in TInput, TState>
{
    /// <summary>The initial state of a run.</summary>
    TState Start(TInput input, StartContext context);

    /// <summary>
    /// The commands that must be outstanding in <paramref name="state"/>. The answer is declarative:
    /// hosts issue the commands whose <see cref="WorkflowCommand.Id"/> they have not issued yet and
    /// cancel outstanding timers and waits that are no longer listed.
    /// </summary>
    IReadOnlyList<WorkflowCommand> Decide(TState state);

    /// <summary>The state after <paramref name="change"/>. Events for commands that are not outstanding are ignored.</summary>
    TState Evolve(TState state, WorkflowEvent change);

    /// <summary>Whether the run has ended; a terminal state decides exactly one <see cref="CompleteRun"/> or <see cref="FailRun"/>.</summary>
    bool IsTerminal(TState state);
}

/// <summary>What a host knows when it starts a run: its id and the time, both chosen outside the decider.</summary>
public sealed record StartContext(string RunId, DateTimeOffset StartedAt);

/// <summary>Retry policy for an activity, in the shape of Durable Functions' <c>RetryPolicy</c>.</summary>
/// <param name="MaxAttempts">Total attempts including the first.</param>
/// <param name="FirstInterval">Delay before the second attempt.</param>
/// <param name="BackoffCoefficient">Multiplier applied to the delay after each failed attempt.</param>
/// <param name="MaxInterval">Upper bound for any single delay.</param>
public sealed record RetryOptions(int MaxAttempts, TimeSpan FirstInterval, double BackoffCoefficient, TimeSpan MaxInterval)
{
    /// <summary>No retry: one attempt.</summary>
    public static RetryOptions None { get; } = new(1, TimeSpan.Zero, 1, TimeSpan.Zero);

    /// <summary>The delay to wait after <paramref name="failedAttempt"/> (1-based) failed.</summary>
    public TimeSpan DelayAfter(int failedAttempt)
    {
        var ticks = FirstInterval.Ticks * Math.Pow(BackoffCoefficient, Math.Max(0, failedAttempt - 1));
        return TimeSpan.FromTicks((long)Math.Min(ticks, MaxInterval.Ticks));
    }
}

/// <summary>Something the decider wants a host to do. The id is deterministic and unique within a run.</summary>
// WARNING: the discriminators and property names are persisted in run state and queue messages;
// renaming them breaks runs that are in flight.
[JsonPolymorphic(TypeDiscriminatorPropertyName = "$type")]
[JsonDerivedType(typeof(CallActivity), "activity")]
[JsonDerivedType(typeof(StartTimer), "timer")]
[JsonDerivedType(typeof(WaitForEvent), "wait")]
[JsonDerivedType(typeof(CompleteRun), "complete")]
[JsonDerivedType(typeof(FailRun), "fail")]
public abstract record WorkflowCommand(string Id);

/// <summary>Run an activity with <paramref name="Input"/>; its result comes back as <see cref="ActivityCompleted"/> or <see cref="ActivityFailed"/>.</summary>
public sealed record CallActivity(string Id, string Name, JsonElement Input, RetryOptions Retry, TimeSpan Timeout) : WorkflowCommand(Id);

/// <summary>Fire <see cref="TimerFired"/> at <paramref name="FireAt"/>.</summary>
public sealed record StartTimer(string Id, DateTimeOffset FireAt) : WorkflowCommand(Id);

/// <summary>Wait for an external event named <paramref name="EventName"/> (delivered as <see cref="EventRaised"/>).</summary>
public sealed record WaitForEvent(string Id, string EventName) : WorkflowCommand(Id);

/// <summary>The run ended successfully with <paramref name="Output"/>.</summary>
public sealed record CompleteRun(string Id, JsonElement Output) : WorkflowCommand(Id);

/// <summary>The run ended unsuccessfully for <paramref name="Reason"/>.</summary>
public sealed record FailRun(string Id, string Reason) : WorkflowCommand(Id);

/// <summary>Something that happened to a run. <see cref="At"/> is the host's clock reading, the decider's only source of time.</summary>
// WARNING: persisted in queue messages and history; see WorkflowCommand.
[JsonPolymorphic(TypeDiscriminatorPropertyName = "$type")]
[JsonDerivedType(typeof(ActivityCompleted), "completed")]
[JsonDerivedType(typeof(ActivityFailed), "failed")]
[JsonDerivedType(typeof(TimerFired), "timerFired")]
[JsonDerivedType(typeof(EventRaised), "raised")]
[JsonDerivedType(typeof(RunTerminated), "terminated")]
public abstract record WorkflowEvent(DateTimeOffset At);

/// <summary>The activity issued as <paramref name="CommandId"/> returned <paramref name="Result"/>.</summary>
public sealed record ActivityCompleted(string CommandId, JsonElement Result, DateTimeOffset At) : WorkflowEvent(At);

/// <summary>The activity issued as <paramref name="CommandId"/> failed after its retries.</summary>
public sealed record ActivityFailed(string CommandId, string ErrorType, string Message, DateTimeOffset At) : WorkflowEvent(At);

/// <summary>The timer issued as <paramref name="CommandId"/> fired.</summary>
public sealed record TimerFired(string CommandId, DateTimeOffset At) : WorkflowEvent(At);

/// <summary>An external event (an approval, a signal) arrived.</summary>
public sealed record EventRaised(string Name, JsonElement Payload, DateTimeOffset At) : WorkflowEvent(At);

/// <summary>An operator ended the run.</summary>
public sealed record RunTerminated(string Reason, string By, DateTimeOffset At) : WorkflowEvent(At);
