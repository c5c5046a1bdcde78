using System.Text.Json;
using Agentic.Core.Json;

namespace Agentic.Core.Tools;

/// <summary>How much harm a tool can do.</summary>
public enum RiskLevel
{
    /// <summary>Harmless.</summary>
    Low,
    /// <summary>Noticeable, recoverable.</summary>
    Medium,
    /// <summary>Can disrupt a service.</summary>
    High,
    /// <summary>Can destroy data or money.</summary>
    Critical,
}

/// <summary>What a tool does to the world.</summary>
public enum SideEffect
{
    /// <summary>Reads only; repeating it is harmless.</summary>
    ReadOnly,
    /// <summary>Changes state that can be undone.</summary>
    Reversible,
    /// <summary>Changes state that can not be undone.</summary>
    Irreversible,
}

/// <summary>The versioned contract of a tool. Its <see cref="Hash"/> is part of every decision.</summary>
public sealed record ToolDescriptor(
    string Name,
    string Version,
    string Description,
    RiskLevel Risk,
    SideEffect SideEffect,
    bool Idempotent,
    TimeSpan Timeout,
    int MaxOutputBytes)
{
    /// <summary>SHA-256 of the descriptor's canonical JSON: any change to the contract changes it.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string Hash => AgenticJson.Digest(AgenticJson.ToElement(this));
}

/// <summary>One invocation of a tool, with the key that makes a repeat harmless.</summary>
public sealed record ToolCall(string RunId, string StepId, string Target, JsonElement Arguments, string IdempotencyKey);

/// <summary>What a tool returned.</summary>
public sealed record ToolOutcome(int? StatusCode, string Summary, JsonElement Output);

/// <summary>A callable tool.</summary>
public interface ITool
{
    /// <summary>The tool's contract.</summary>
    ToolDescriptor Descriptor { get; }

    /// <summary>Runs the tool. Throws <see cref="ToolException"/> when the call failed.</summary>
    Task<ToolOutcome> InvokeAsync(ToolCall invocation, CancellationToken cancellationToken);
}

/// <summary>A tool call failed; <see cref="Retryable"/> says whether trying again can help.</summary>
public sealed class ToolException(string message, bool retryable, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>Whether a retry can succeed (timeouts, 5xx, 429) or not (4xx, contract violations).</summary>
    public bool Retryable { get; } = retryable;
}

/// <summary>The set of tools a deployment offers, by name.</summary>
public sealed class ToolRegistry
{
    private readonly Dictionary<string, ITool> _tools;

    /// <summary>A registry over <paramref name="tools"/>; names must be unique.</summary>
    public ToolRegistry(IEnumerable<ITool> tools)
    {
        _tools = new(StringComparer.Ordinal);
        foreach (var tool in tools)
        {
            if (!_tools.TryAdd(tool.Descriptor.Name, tool))
            {
                throw new ArgumentException($"Tool '{tool.Descriptor.Name}' is registered twice.", nameof(tools));
            }
        }
    }

    /// <summary>Every tool's descriptor, by name.</summary>
    public IEnumerable<ToolDescriptor> Descriptors => _tools.Values.Select(t => t.Descriptor).OrderBy(d => d.Name, StringComparer.Ordinal);

    /// <summary>The tool called <paramref name="name"/>, if any.</summary>
    public bool TryResolve(string name, out ITool tool) => _tools.TryGetValue(name, out tool!);
}
