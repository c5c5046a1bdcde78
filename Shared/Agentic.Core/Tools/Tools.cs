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
    /// <summary>
    /// JSON Schema (draft-07) the arguments must satisfy; <c>null</c> accepts any object. Part of <see cref="Hash"/>.
    /// </summary>
    public string? InputSchema { get; init; }

    /// <summary>
    /// JSON Schema (draft-07) the output must satisfy; <c>null</c> accepts any output. Part of <see cref="Hash"/>.
    /// Write it permissively where the tool's service may add members.
    /// </summary>
    public string? OutputSchema { get; init; }

    /// <summary>
    /// At most this many calls of the tool may start per <see cref="ToolRateLimit.Per"/> window on one host; further calls wait
    /// for a permit (a host-local token bucket). <c>null</c>: no rate limit.
    /// </summary>
    public ToolRateLimit? RateLimit { get; init; }

    /// <summary>At most this many calls of the tool run at once on one host (a bulkhead); <c>null</c>: no limit.</summary>
    public int? MaxConcurrency { get; init; }

    /// <summary>
    /// The secret names the tool needs. Only these are resolved, at call time, and handed to the tool; a tool never
    /// sees a secret it did not declare.
    /// </summary>
    public IReadOnlyList<string>? Secrets { get; init; }

    /// <summary>
    /// The tool that undoes a successful call of this one (reversible tools only). The call's outcome supplies the
    /// compensating call's arguments (<see cref="ToolOutcome.Compensation"/>).
    /// </summary>
    public string? CompensatingTool { get; init; }

    /// <summary>What one call costs, in cost units, against a run's budget; <c>null</c> means 1.</summary>
    public double? Cost { get; init; }

    /// <summary>Free-form labels policies can test (<c>tool.tags</c>).</summary>
    public IReadOnlyList<string>? Tags { get; init; }

    /// <summary>
    /// JSON Schema (draft-07) of the tool's assessment. When set, the tool is an <see cref="IAssessingTool"/>: the gate
    /// asks its service to assess each call after the arguments satisfied <see cref="InputSchema"/> and before the policy,
    /// checks the answer against this schema, and policies read it as <c>assessment.*</c> (a contract's risk score, not
    /// the model's opinion of it). Part of <see cref="Hash"/>.
    /// </summary>
    public string? AssessmentSchema { get; init; }

    /// <summary>
    /// Whether the tool records data as given (fields a model extracted from a document) on the run's own target. A model
    /// that read untrusted content proposes exactly such data, so a low-risk, reversible tool marked so is not sent for
    /// approval merely because the step is tainted: the policy decides it as for any step (and sees
    /// <c>context.tainted</c>). The gate ignores the mark on a tool of any other risk or side effect. Part of
    /// <see cref="Hash"/> when set.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingDefault)]
    public bool DataEntry { get; init; }

    /// <summary>The cost of one call in cost units (<see cref="Cost"/>, or 1).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public double CallCost => Cost ?? 1;

    /// <summary><see cref="InputSchema"/> as a JSON value (for listings), or <c>null</c>.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public JsonElement? InputSchemaJson => ParseSchema(InputSchema);

    /// <summary><see cref="OutputSchema"/> as a JSON value (for listings), or <c>null</c>.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public JsonElement? OutputSchemaJson => ParseSchema(OutputSchema);

    /// <summary><see cref="AssessmentSchema"/> as a JSON value (for listings), or <c>null</c>.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public JsonElement? AssessmentSchemaJson => ParseSchema(AssessmentSchema);

    /// <summary>SHA-256 of the descriptor's canonical JSON, schemas included: any change to the contract changes it.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string Hash => AgenticJson.Digest(AgenticJson.ToElement(this));

    private static JsonElement? ParseSchema(string? schema)
    {
        if (schema is null)
        {
            return null;
        }
        using var document = JsonDocument.Parse(schema);
        return document.RootElement.Clone();
    }
}

/// <summary>A rate limit: <see cref="Permits"/> calls per <see cref="Per"/>.</summary>
public sealed record ToolRateLimit(int Permits, TimeSpan Per);

/// <summary>One invocation of a tool, with the key that makes a repeat harmless.</summary>
public sealed record ToolCall(string RunId, string StepId, string Target, JsonElement Arguments, string IdempotencyKey)
{
    /// <summary>The agent whose run makes the call.</summary>
    public string? Agent { get; init; }

    /// <summary>
    /// The target rules of the agent version the run was admitted with (<see cref="Agents.AgentDefinition.Targets"/>):
    /// they narrow the run target rules for target-bound tools. <c>null</c>: the deployment's rules alone.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public IReadOnlyList<Builtin.EndpointRule>? AgentTargets { get; init; }

    /// <summary>
    /// The values of the secrets the tool declared (<see cref="ToolDescriptor.Secrets"/>), by name, resolved at call time.
    /// Never persisted, logged or returned.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public IReadOnlyDictionary<string, string> Secrets { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);
}

/// <summary>What a compensating call must be: the tool and its arguments.</summary>
public sealed record CompensationCall(string Tool, JsonElement Arguments);

/// <summary>What a tool returned.</summary>
public sealed record ToolOutcome(int? StatusCode, string Summary, JsonElement Output)
{
    /// <summary>For a reversible tool with a <see cref="ToolDescriptor.CompensatingTool"/>: the call that undoes this one.</summary>
    public CompensationCall? Compensation { get; init; }
}

/// <summary>A callable tool.</summary>
public interface ITool
{
    /// <summary>The tool's contract.</summary>
    ToolDescriptor Descriptor { get; }

    /// <summary>Runs the tool. Throws <see cref="ToolException"/> when the call failed.</summary>
    Task<ToolOutcome> InvokeAsync(ToolCall invocation, CancellationToken cancellationToken);
}

/// <summary>
/// A tool whose service can assess a call before it is made (<see cref="ToolDescriptor.AssessmentSchema"/>): what the
/// call would mean, by the service's own deterministic rules, for the policy to decide on.
/// </summary>
public interface IAssessingTool : ITool
{
    /// <summary>
    /// What the tool's service says about <paramref name="invocation"/> without making it: a read, never a change, the same
    /// answer for the same arguments (the decision and its approvers rely on it). Throws <see cref="ToolException"/> when
    /// the service can not answer. Called without secrets.
    /// </summary>
    Task<JsonElement> AssessAsync(ToolCall invocation, CancellationToken cancellationToken);
}

/// <summary>A tool call failed; <see cref="Retryable"/> says whether trying again can help.</summary>
public sealed class ToolException(string message, bool retryable, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>Whether a retry can succeed (timeouts, 5xx, 429) or not (4xx, contract violations).</summary>
    public bool Retryable { get; } = retryable;
}

/// <summary>
/// The set of tools a deployment offers, by name. Each tool's schemas are compiled once, here, so a bad schema
/// stops the host at start and a call only evaluates.
/// </summary>
public sealed class ToolRegistry
{
    private readonly Lock _refresh = new();
    // Replaced whole by Refresh, so a reader sees one consistent set.
    private volatile Dictionary<string, Entry> _tools;

    /// <summary>A registry over <paramref name="tools"/>; names must be unique and schemas valid.</summary>
    public ToolRegistry(IEnumerable<ITool> tools)
    {
        ArgumentNullException.ThrowIfNull(tools);
        var all = new Dictionary<string, Entry>(StringComparer.Ordinal);
        foreach (var tool in tools)
        {
            var entry = Compile(tool);
            if (!all.TryAdd(tool.Descriptor.Name, entry))
            {
                throw new ArgumentException($"Tool '{tool.Descriptor.Name}' is registered twice.", nameof(tools));
            }
        }
        _tools = all;
    }

    /// <summary>
    /// Compiles the current descriptor of the registered <paramref name="tool"/> again, for a tool whose contract changes
    /// at run time (an MCP tool whose new announcement an admin pinned). Decisions made for the earlier contract name
    /// its hash, and the act activity refuses them.
    /// </summary>
    public void Refresh(ITool tool)
    {
        ArgumentNullException.ThrowIfNull(tool);
        var entry = Compile(tool);
        lock (_refresh)
        {
            if (!_tools.TryGetValue(tool.Descriptor.Name, out var current) || !ReferenceEquals(current.Tool, tool))
            {
                throw new ArgumentException($"Tool '{tool.Descriptor.Name}' is not this registry's.", nameof(tool));
            }
            _tools = new Dictionary<string, Entry>(_tools, StringComparer.Ordinal) { [tool.Descriptor.Name] = entry };
        }
    }

    private static Entry Compile(ITool tool)
    {
        var d = tool.Descriptor;
        if (d.AssessmentSchema is not null && tool is not IAssessingTool)
        {
            throw new ArgumentException($"Tool '{d.Name}' declares an assessment schema, but it can not be assessed (it is not an {nameof(IAssessingTool)}).", nameof(tool));
        }
        return new Entry(
            tool,
            d.InputSchema is null ? null : ToolSchema.Compile(d.InputSchema, $"input schema of {d.Name}@{d.Version}"),
            d.OutputSchema is null ? null : ToolSchema.Compile(d.OutputSchema, $"output schema of {d.Name}@{d.Version}"),
            d.AssessmentSchema is null ? null : ToolSchema.Compile(d.AssessmentSchema, $"assessment schema of {d.Name}@{d.Version}"),
            d.Hash);
    }

    /// <summary>Every tool's descriptor, by name.</summary>
    public IEnumerable<ToolDescriptor> Descriptors => _tools.Values.Select(t => t.Tool.Descriptor).OrderBy(d => d.Name, StringComparer.Ordinal);

    /// <summary>The tool called <paramref name="name"/>, if any.</summary>
    public bool TryResolve(string name, out ITool tool)
    {
        var found = _tools.TryGetValue(name, out var entry);
        tool = entry?.Tool!;
        return found;
    }

    /// <summary>
    /// Each way <paramref name="arguments"/> violate the input schema of the registered tool <paramref name="name"/>,
    /// as <c>$.path: message</c>; empty when they satisfy it or the tool has no input schema.
    /// </summary>
    public IReadOnlyList<string> ValidateArguments(string name, JsonElement arguments) =>
        Get(name).Input?.Validate(arguments) ?? [];

    /// <summary>
    /// Each way <paramref name="output"/> violates the output schema of the registered tool <paramref name="name"/>;
    /// empty when it satisfies it or the tool has no output schema.
    /// </summary>
    public IReadOnlyList<string> ValidateOutput(string name, JsonElement output) =>
        Get(name).Output?.Validate(output) ?? [];

    /// <summary>
    /// Each way <paramref name="assessment"/> violates the assessment schema of the registered tool <paramref name="name"/>;
    /// empty when it satisfies it or the tool has none.
    /// </summary>
    public IReadOnlyList<string> ValidateAssessment(string name, JsonElement assessment) =>
        Get(name).Assessment?.Validate(assessment) ?? [];

    private Entry Get(string name) =>
        _tools.TryGetValue(name, out var entry) ? entry : throw new KeyNotFoundException($"No tool named '{name}' is registered.");

    /// <summary>
    /// The <see cref="ToolDescriptor.Hash"/> of the registered tool <paramref name="name"/>, computed once at registration
    /// (hashing serializes the whole contract, schemas included).
    /// </summary>
    public string HashOf(string name) => Get(name).Hash;

    private sealed record Entry(ITool Tool, ToolSchema? Input, ToolSchema? Output, ToolSchema? Assessment, string Hash);
}

/// <summary>Why a guard refuses a tool: the rule a decision names, its version and the reason.</summary>
/// <param name="Rule">The rule, e.g. <c>mcp-unpinned:{tool}</c>.</param>
/// <param name="Version">What the rule refers to (the announcement's hash).</param>
/// <param name="Reason">Why, for the decision and the run.</param>
public sealed record ToolRefusal(string Rule, string Version, string Reason);

/// <summary>
/// A check of a tool's standing that the gate makes before the policy and the act activity makes again before the call,
/// as it does for kill switches: a refusal is a forbid decision by policy <c>controls</c>. A guard that can not answer
/// throws, and the gate fails closed.
/// </summary>
public interface IToolGuard
{
    /// <summary>Why <paramref name="tool"/> of <paramref name="registry"/> may not run now, or <c>null</c> when it may.</summary>
    Task<ToolRefusal?> CheckAsync(ToolRegistry registry, ITool tool, CancellationToken cancellationToken);
}

/// <summary>Runs the registered guards of a tool in order; the first refusal wins.</summary>
public static class ToolGuards
{
    /// <summary>The first refusal of <paramref name="tool"/> by <paramref name="guards"/>, or <c>null</c>.</summary>
    public static async Task<ToolRefusal?> CheckAsync(IEnumerable<IToolGuard>? guards, ToolRegistry registry, ITool tool, CancellationToken cancellationToken)
    {
        foreach (var guard in guards ?? [])
        {
            if (await guard.CheckAsync(registry, tool, cancellationToken) is { } refusal)
            {
                return refusal;
            }
        }
        return null;
    }
}
