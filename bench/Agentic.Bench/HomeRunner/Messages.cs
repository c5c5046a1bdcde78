using System.Text.Json;
using Agentic.Azure;
using Agentic.Core.Workflow;

namespace Agentic.Bench.HomeRunner;

// WARNING: these records are the wire format of the runner's queues. Messages written by one version
// are read by the next after an upgrade: add members as optional, never rename.

/// <summary>A request to run one attempt of an activity.</summary>
public sealed record WorkItem(
    string RunId,
    string CommandId,
    string Name,
    JsonElement? Input,
    PayloadRef? InputRef,
    int Attempt,
    RetryOptions Retry,
    TimeSpan Timeout);

/// <summary>A timer waiting in the control queue.</summary>
public sealed record TimerMessage(string CommandId, DateTimeOffset FireAt);

/// <summary>Something that happened to a run, delivered through the control queue.</summary>
public sealed record ControlMessage(string RunId, string EventId, WorkflowEvent? Event, PayloadRef? EventRef, TimerMessage? Timer);

/// <summary>What a poison queue holds: the original message and why it was given up on.</summary>
public sealed record PoisonMessage(string Queue, string Reason, long DequeueCount, string Message, DateTimeOffset At);
