using global::DurableTask.Core;

namespace Agentic.Runtime.Engine;

/// <summary>
/// Registers an orchestration or activity on a <see cref="TaskHubWorker"/> by name, creating a fresh object per execution
/// as the worker expects (the SDK's shims hold per-execution state).
/// </summary>
public sealed class TaskCreator<T> : ObjectCreator<T>
{
    private readonly Func<T> _create;

    /// <summary>A creator of <paramref name="name"/> (no version) that calls <paramref name="create"/> for each execution.</summary>
    public TaskCreator(string name, Func<T> create)
    {
        Name = name;
        Version = string.Empty;
        _create = create;
    }

    /// <inheritdoc />
    public override T Create() => _create();
}
