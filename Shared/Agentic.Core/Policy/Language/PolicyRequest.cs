using System.Text.Json;
using Agentic.Core.Agents;
using Agentic.Core.Tools;

namespace Agentic.Core.Policy.Language;

/// <summary>Who asks: the principal on whose behalf the agent runs, with its roles.</summary>
public sealed record PolicyPrincipal(string Id, IReadOnlyList<string> Roles);

/// <summary>The agent proposing the action, with its autonomy level (observe, suggest, supervised, autonomous).</summary>
public sealed record PolicyAgent(string Name, string Autonomy);

/// <summary>The tool the action calls: its versioned contract's name, version, risk and side-effect class, plus tags.</summary>
public sealed record PolicyTool(string Name, string Version, RiskLevel Risk, SideEffect SideEffect, IReadOnlyList<string> Tags)
{
    /// <summary>The policy's view of a tool descriptor.</summary>
    public static PolicyTool From(ToolDescriptor descriptor, IReadOnlyList<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        return new(descriptor.Name, descriptor.Version, descriptor.Risk, descriptor.SideEffect, tags ?? []);
    }
}

/// <summary>What the action targets and the environment the target lives in (dev, test, staging, prod).</summary>
public sealed record PolicyResource(string Target, string Environment);

/// <summary>
/// The circumstances of the action: the run's environment, the hour of day (0-23, UTC), the budget used so far,
/// the steps taken so far and the autonomy the run has.
/// </summary>
public sealed record PolicyContext(string Environment, int Hour, double BudgetUsed, int StepsTaken, string Autonomy)
{
    /// <summary>Whether the step was proposed by a model that read content from an untrusted source.</summary>
    public bool Tainted { get; init; }

    /// <summary>The untrusted sources that model read (<c>observation:...</c>, <c>request.goal</c>, ...).</summary>
    public IReadOnlyList<string> TaintSources { get; init; } = [];
}

/// <summary>
/// Everything a policy may look at for one decision, laid out for evaluation. Build it once per gate call
/// (building allocates: the arguments are flattened into dotted paths); evaluating it against any number
/// of compiled policies allocates nothing. <c>default(PolicyRequest)</c> is not a request: evaluating it throws.
/// </summary>
public readonly struct PolicyRequest
{
    /// <summary>
    /// A request from its parts. <paramref name="arguments"/> must be a JSON object (or undefined, meaning none), and so
    /// must <paramref name="assessment"/>, what the tool's service said about the call (<c>assessment.*</c>; undefined for
    /// a tool without one).
    /// </summary>
    public PolicyRequest(PolicyPrincipal principal, PolicyAgent agent, PolicyTool tool, JsonElement arguments, PolicyResource resource, PolicyContext context, JsonElement assessment = default)
    {
        ArgumentNullException.ThrowIfNull(principal);
        ArgumentNullException.ThrowIfNull(agent);
        ArgumentNullException.ThrowIfNull(tool);
        ArgumentNullException.ThrowIfNull(resource);
        ArgumentNullException.ThrowIfNull(context);
        if (context.Hour is < 0 or > 23)
        {
            throw new ArgumentOutOfRangeException(nameof(context), context.Hour, "The hour of day must be 0-23 (UTC).");
        }
        // The analysis at load relies on a tool's risk and side effect being one of their known values.
        if (!Enum.IsDefined(tool.Risk) || !Enum.IsDefined(tool.SideEffect))
        {
            throw new ArgumentOutOfRangeException(nameof(tool), $"Tool '{tool.Name}' has an undefined risk ({(int)tool.Risk}) or side effect ({(int)tool.SideEffect}).");
        }
        if (arguments.ValueKind is not (JsonValueKind.Object or JsonValueKind.Undefined))
        {
            throw new ArgumentException($"Tool arguments must be a JSON object, not {arguments.ValueKind}.", nameof(arguments));
        }
        if (assessment.ValueKind is not (JsonValueKind.Object or JsonValueKind.Undefined))
        {
            throw new ArgumentException($"A tool's assessment must be a JSON object, not {assessment.ValueKind}.", nameof(assessment));
        }
        Principal = principal;
        Agent = agent;
        Tool = tool;
        Arguments = arguments;
        Resource = resource;
        Context = context;
        Assessment = assessment;

        var strings = new string[PolicySchema.Strings.Count];
        strings[PolicySchema.Strings.PrincipalId] = principal.Id ?? "";
        strings[PolicySchema.Strings.AgentName] = agent.Name ?? "";
        strings[PolicySchema.Strings.ToolName] = tool.Name ?? "";
        strings[PolicySchema.Strings.ToolVersion] = tool.Version ?? "";
        strings[PolicySchema.Strings.ResourceTarget] = resource.Target ?? "";
        Strings = strings;

        var names = new string[PolicySchema.Enums.Count];
        names[PolicySchema.Enums.ToolRisk] = EnumName(PolicySchema.RiskValues, (int)tool.Risk);
        names[PolicySchema.Enums.ToolSideEffect] = EnumName(PolicySchema.SideEffectValues, (int)tool.SideEffect);
        names[PolicySchema.Enums.AgentAutonomy] = agent.Autonomy ?? "";
        names[PolicySchema.Enums.ContextAutonomy] = context.Autonomy ?? "";
        names[PolicySchema.Enums.ResourceEnvironment] = resource.Environment ?? "";
        names[PolicySchema.Enums.ContextEnvironment] = context.Environment ?? "";
        EnumNames = names;
        var ordinals = new int[PolicySchema.Enums.Count];
        ordinals[PolicySchema.Enums.ToolRisk] = Array.IndexOf(PolicySchema.RiskValues, names[PolicySchema.Enums.ToolRisk]);
        ordinals[PolicySchema.Enums.ToolSideEffect] = Array.IndexOf(PolicySchema.SideEffectValues, names[PolicySchema.Enums.ToolSideEffect]);
        ordinals[PolicySchema.Enums.AgentAutonomy] = Array.IndexOf(PolicySchema.AutonomyValues, names[PolicySchema.Enums.AgentAutonomy]);
        ordinals[PolicySchema.Enums.ContextAutonomy] = Array.IndexOf(PolicySchema.AutonomyValues, names[PolicySchema.Enums.ContextAutonomy]);
        ordinals[PolicySchema.Enums.ResourceEnvironment] = Array.IndexOf(PolicySchema.EnvironmentValues, names[PolicySchema.Enums.ResourceEnvironment]);
        ordinals[PolicySchema.Enums.ContextEnvironment] = Array.IndexOf(PolicySchema.EnvironmentValues, names[PolicySchema.Enums.ContextEnvironment]);
        Enums = ordinals;

        var numbers = new double[PolicySchema.Numbers.Count];
        numbers[PolicySchema.Numbers.Hour] = context.Hour;
        numbers[PolicySchema.Numbers.BudgetUsed] = context.BudgetUsed;
        numbers[PolicySchema.Numbers.StepsTaken] = context.StepsTaken;
        Numbers = numbers;

        var lists = new string[PolicySchema.Lists.Count][];
        lists[PolicySchema.Lists.Roles] = [.. principal.Roles ?? []];
        lists[PolicySchema.Lists.TaintSources] = [.. context.TaintSources ?? []];
        lists[PolicySchema.Lists.Tags] = [.. tool.Tags ?? []];
        Lists = lists;

        var args = new Dictionary<string, ArgValue>(StringComparer.Ordinal);
        if (arguments.ValueKind == JsonValueKind.Object)
        {
            ArgValue.Flatten(arguments, "", args);
        }
        // Set after the arguments, under keys no argument path can spell (paths never start with '.').
        if (assessment.ValueKind == JsonValueKind.Object)
        {
            ArgValue.Flatten(assessment, PolicySchema.AssessmentKey, args);
        }
        args[PolicySchema.TaintedKey] = ArgValue.Of(context.Tainted);
        Args = args;
    }

    /// <summary>
    /// A request that carries only dotted-path values: what conditions over a schema of <see cref="AttributeKind.Json"/>
    /// attributes read (a playbook's observation and parameters). The principal, agent, tool, resource and context are
    /// absent; a condition that names them does not check against such a schema.
    /// </summary>
    internal PolicyRequest(Dictionary<string, ArgValue> values)
    {
        Principal = null!;
        Agent = null!;
        Tool = null!;
        Resource = null!;
        Context = null!;
        Strings = [];
        Enums = [];
        EnumNames = [];
        Numbers = [];
        Lists = [];
        Args = values;
    }

    /// <summary>
    /// The request for one gate call. What <see cref="GateInput"/> does not carry comes from the caller:
    /// the principal's roles, the autonomy level, the target, the budget used and the tool's tags.
    /// The hour of day is <paramref name="now"/>'s UTC hour. <paramref name="assessment"/> is what the tool's service said
    /// about the call, for a tool that is assessed.
    /// </summary>
    public static PolicyRequest FromGate(
        GateInput input,
        ToolDescriptor tool,
        DateTimeOffset now,
        string autonomy,
        IReadOnlyList<string>? principalRoles = null,
        string? target = null,
        double budgetUsed = 0,
        IReadOnlyList<string>? toolTags = null,
        JsonElement assessment = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(tool);
        return new(
            new PolicyPrincipal(input.Principal, principalRoles ?? []),
            new PolicyAgent(input.Agent, autonomy),
            PolicyTool.From(tool, toolTags),
            input.Arguments,
            new PolicyResource(target ?? "", input.Environment),
            new PolicyContext(input.Environment, now.UtcDateTime.Hour, budgetUsed, input.StepsTaken, autonomy) { Tainted = input.Tainted, TaintSources = input.TaintSources ?? [] },
            assessment);
    }

    /// <summary>Who asks.</summary>
    public PolicyPrincipal Principal { get; }

    /// <summary>Which agent proposes the action.</summary>
    public PolicyAgent Agent { get; }

    /// <summary>Which tool the action calls.</summary>
    public PolicyTool Tool { get; }

    /// <summary>The tool arguments as given.</summary>
    public JsonElement Arguments { get; }

    /// <summary>What the action targets.</summary>
    public PolicyResource Resource { get; }

    /// <summary>The circumstances of the action.</summary>
    public PolicyContext Context { get; }

    /// <summary>What the tool's service said about the call (<c>assessment.*</c>); undefined for a tool without an assessment.</summary>
    public JsonElement Assessment { get; }

    internal string[] Strings { get; }
    internal int[] Enums { get; }
    internal string[] EnumNames { get; }
    internal double[] Numbers { get; }
    internal string[][] Lists { get; }
    internal Dictionary<string, ArgValue> Args { get; }

    internal bool IsDefault => Strings is null;

    private static string EnumName(string[] values, int ordinal) => (uint)ordinal < (uint)values.Length ? values[ordinal] : "";
}

internal enum ArgKind : byte
{
    Missing,
    Null,
    String,
    Number,
    Bool,
    Array,
    Object,
}

/// <summary>One tool argument (or array item), decoded once when the request is built.</summary>
internal readonly struct ArgValue
{
    private ArgValue(ArgKind kind, string? text = null, double number = 0, bool flag = false, ArgValue[]? items = null)
    {
        Kind = kind;
        String = text;
        Number = number;
        Bool = flag;
        Items = items;
    }

    public ArgKind Kind { get; }
    public string? String { get; }
    public double Number { get; }
    public bool Bool { get; }
    public ArgValue[]? Items { get; }

    /// <summary>
    /// Adds every member of <paramref name="element"/> under its dotted path. A repeated member name keeps the
    /// last value (what <see cref="JsonElement.GetProperty(string)"/> and the serializer see). A member whose
    /// name holds a '.' is not addressable, so it can not alias a nested path.
    /// </summary>
    public static void Flatten(JsonElement element, string prefix, Dictionary<string, ArgValue> into)
    {
        foreach (var property in element.EnumerateObject())
        {
            if (property.Name.Contains('.', StringComparison.Ordinal))
            {
                continue;
            }
            var path = prefix.Length == 0 ? property.Name : prefix + "." + property.Name;
            into[path] = From(property.Value);
            if (property.Value.ValueKind == JsonValueKind.Object)
            {
                Flatten(property.Value, path, into);
            }
        }
    }

    public static ArgValue Of(bool flag) => new(ArgKind.Bool, flag: flag);

    public static ArgValue From(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => new(ArgKind.String, element.GetString()),
        JsonValueKind.Number => new(ArgKind.Number, number: element.GetDouble()),
        JsonValueKind.True => new(ArgKind.Bool, flag: true),
        JsonValueKind.False => new(ArgKind.Bool, flag: false),
        JsonValueKind.Null => new(ArgKind.Null),
        JsonValueKind.Array => new(ArgKind.Array, items: [.. element.EnumerateArray().Select(From)]),
        JsonValueKind.Object => new(ArgKind.Object),
        _ => default,
    };
}
