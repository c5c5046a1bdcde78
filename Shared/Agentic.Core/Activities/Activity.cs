using System.Text.Json;
using Agentic.Core.Json;

namespace Agentic.Core.Activities;

/// <summary>Where an activity attempt runs: which run, which command, which attempt.</summary>
public sealed record ActivityContext(string RunId, string CommandId, int Attempt);

/// <summary>
/// A unit of I/O the workflow delegates. Both hosts call the same implementations: the Durable
/// adapter from an activity trigger, the local runner from its work queue.
/// </summary>
public interface IActivity
{
    /// <summary>The registered name (see <see cref="Agents.AgentActivities"/>).</summary>
    string Name { get; }

    /// <summary>Runs one attempt. Throws <see cref="NonRetryableException"/> when retrying can not help.</summary>
    Task<JsonElement> RunAsync(JsonElement input, ActivityContext context, CancellationToken cancellationToken);
}

/// <summary>A failure that retrying can not fix: hosts end the attempt series and report it.</summary>
public sealed class NonRetryableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Another worker holds the work this attempt would do (a live idempotency-ledger lease). Hosts try the same
/// attempt again after <see cref="RetryAfter"/> without spending the retry budget: nothing failed.
/// </summary>
public sealed class ActivityBusyException(string message, DateTimeOffset? retryAfter) : Exception(message)
{
    /// <summary>When the holder's lease ends, if known.</summary>
    public DateTimeOffset? RetryAfter { get; } = retryAfter;
}

/// <summary>Base class for activities with typed input and output.</summary>
public abstract class Activity<TInput, TOutput> : IActivity
{
    /// <inheritdoc />
    public abstract string Name { get; }

    /// <inheritdoc />
    public async Task<JsonElement> RunAsync(JsonElement input, ActivityContext context, CancellationToken cancellationToken)
    {
        TInput typed;
        try
        {
            typed = AgenticJson.FromElement<TInput>(input);
        }
        catch (JsonException ex)
        {
            throw new NonRetryableException($"{Name} received input that is not a {typeof(TInput).Name}: {ex.Message}", ex);
        }
        return AgenticJson.ToElement(await RunAsync(typed, context, cancellationToken));
    }

    /// <summary>Runs one attempt with typed input.</summary>
    protected abstract Task<TOutput> RunAsync(TInput input, ActivityContext context, CancellationToken cancellationToken);
}

/// <summary>The activities a host runs, by name.</summary>
public sealed class ActivityRegistry(IEnumerable<IActivity> activities)
{
    private readonly Dictionary<string, IActivity> _byName = activities.ToDictionary(a => a.Name, StringComparer.Ordinal);

    /// <summary>The activity called <paramref name="name"/>.</summary>
    public bool TryGet(string name, out IActivity activity) => _byName.TryGetValue(name, out activity!);
}

/// <summary>How an activity finds the agent definition its run uses.</summary>
internal static class RunAgents
{
    /// <summary>
    /// The definition of <paramref name="agent"/> the run was admitted with (<paramref name="version"/>,
    /// <paramref name="hash"/>), or, for a run that recorded none, the one offered now (<c>null</c> when none is). A
    /// recorded version that can not be found fails the activity for good: no other definition stands in for it.
    /// </summary>
    public static async Task<Agents.AgentDefinition?> ForRunAsync(this Agents.IAgentCatalogProvider agents, string agent, string? version, string? hash, CancellationToken cancellationToken)
    {
        try
        {
            return await agents.ResolveAsync(agent, version, hash, cancellationToken);
        }
        catch (Agents.AgentUnavailableException ex)
        {
            throw new NonRetryableException($"The run's agent is unavailable: {ex.Message}", ex);
        }
    }
}
