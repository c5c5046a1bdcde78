using System.Collections.Frozen;

namespace Agentic.Core.Policy.Language;

/// <summary>How an attribute is stored in a <see cref="PolicyRequest"/> and typed in conditions.</summary>
internal enum AttributeKind
{
    /// <summary>A free string, in <see cref="PolicyRequest.Strings"/>.</summary>
    String,
    /// <summary>A string with a closed set of known values, stored as its ordinal in <see cref="PolicyRequest.Enums"/>.</summary>
    Enum,
    /// <summary>A number, in <see cref="PolicyRequest.Numbers"/>.</summary>
    Number,
    /// <summary>A list of strings, in <see cref="PolicyRequest.Lists"/>.</summary>
    StringList,
    /// <summary>A tool argument: typed at run time, looked up by dotted path in <see cref="PolicyRequest.Args"/>.</summary>
    Json,
}

/// <summary>One attribute of the request schema.</summary>
internal sealed class AttributeInfo
{
    public required string Path { get; init; }
    public required AttributeKind Kind { get; init; }

    /// <summary>Index into the request's array for <see cref="Kind"/>; the argument path (without <c>args.</c>) for <see cref="AttributeKind.Json"/>.</summary>
    public int Slot { get; init; }
    public string ArgPath { get; init; } = "";

    /// <summary>The known values of an enum attribute, in order (ordinal = index).</summary>
    public IReadOnlyList<string> Values { get; init; } = [];

    /// <summary>Whether <c>&lt;</c>, <c>&gt;</c>, ... compare an enum attribute by the order of <see cref="Values"/>.</summary>
    public bool Ordered { get; init; }

    /// <summary>Whether a request can carry a value outside <see cref="Values"/> (a string enum filled from free text).</summary>
    public bool Open { get; init; }

    /// <summary>The range of a number attribute.</summary>
    public double Min { get; init; } = double.NegativeInfinity;
    public double Max { get; init; } = double.PositiveInfinity;
    public bool Integer { get; init; }

    /// <summary>
    /// The static type of a <see cref="AttributeKind.Json"/> attribute whose type a schema knows (a playbook's
    /// observation and parameters); <see cref="ValueType.Json"/> (typed at run time) otherwise.
    /// </summary>
    public ValueType Declared { get; init; } = ValueType.Json;

    public string TypeName => Kind switch
    {
        AttributeKind.Number => "number",
        AttributeKind.StringList => "list<string>",
        AttributeKind.Json => "json",
        _ => "string",
    };

    public int Ordinal(string value)
    {
        for (var i = 0; i < Values.Count; i++)
        {
            if (string.Equals(Values[i], value, StringComparison.Ordinal))
            {
                return i;
            }
        }
        return -1;
    }

    public string DescribeValues() => string.Join(", ", Values);
}

/// <summary>
/// The attributes conditions of one kind may name: the policy request's (<see cref="PolicySchema"/>), or a playbook's
/// observation and parameters. The checker resolves every attribute through it.
/// </summary>
internal abstract class AttributeSchema
{
    /// <summary>The attribute at <paramref name="path"/>, if the schema has one.</summary>
    public abstract bool TryResolve(string path, out AttributeInfo info);

    /// <summary>The message for an attribute the schema does not have, naming the nearest one when it looks like a typo.</summary>
    public abstract string UnknownMessage(string path);
}

/// <summary>The attributes a condition may name. <c>args.*</c> is open: any dotted path into the tool arguments.</summary>
internal static class PolicySchema
{
    /// <summary>The policy request's attributes as an <see cref="AttributeSchema"/>.</summary>
    public static AttributeSchema Schema { get; } = new PolicyAttributes();

    private sealed class PolicyAttributes : AttributeSchema
    {
        public override bool TryResolve(string path, out AttributeInfo info) => PolicySchema.TryResolve(path, out info);

        public override string UnknownMessage(string path) => PolicySchema.UnknownMessage(path);
    }

    public static class Strings
    {
        public const int PrincipalId = 0, AgentName = 1, ToolName = 2, ToolVersion = 3, ResourceTarget = 4, Count = 5;
    }

    public static class Enums
    {
        public const int ToolRisk = 0, ToolSideEffect = 1, AgentAutonomy = 2, ContextAutonomy = 3, ResourceEnvironment = 4, ContextEnvironment = 5, Count = 6;
    }

    public static class Numbers
    {
        public const int Hour = 0, BudgetUsed = 1, StepsTaken = 2, Count = 3;
    }

    /// <summary>
    /// Where a request keeps <c>context.tainted</c>: beside the arguments, under a key no argument path can spell (a path
    /// never starts with '.'), set after them.
    /// </summary>
    public const string TaintedKey = "..context.tainted";

    /// <summary>
    /// Where a request keeps the tool's assessment (<c>assessment.*</c>): beside the arguments, under a prefix no argument
    /// path can spell.
    /// </summary>
    public const string AssessmentKey = "..assessment";

    public static class Lists
    {
        public const int Roles = 0, Tags = 1, TaintSources = 2, Count = 3;
    }

    // WARNING: the order of these values is the order of RiskLevel and SideEffect, and of autonomy (least to most).
    public static readonly string[] RiskValues = ["low", "medium", "high", "critical"];
    public static readonly string[] SideEffectValues = ["read-only", "reversible", "irreversible"];
    public static readonly string[] AutonomyValues = ["observe", "suggest", "supervised", "autonomous"];
    public static readonly string[] EnvironmentValues = ["dev", "test", "staging", "prod"];

    private static readonly AttributeInfo[] All =
    [
        new() { Path = "principal.id", Kind = AttributeKind.String, Slot = Strings.PrincipalId },
        new() { Path = "principal.roles", Kind = AttributeKind.StringList, Slot = Lists.Roles },
        new() { Path = "agent.name", Kind = AttributeKind.String, Slot = Strings.AgentName },
        new() { Path = "agent.autonomy", Kind = AttributeKind.Enum, Slot = Enums.AgentAutonomy, Values = AutonomyValues, Ordered = true, Open = true },
        new() { Path = "tool.name", Kind = AttributeKind.String, Slot = Strings.ToolName },
        new() { Path = "tool.version", Kind = AttributeKind.String, Slot = Strings.ToolVersion },
        new() { Path = "tool.risk", Kind = AttributeKind.Enum, Slot = Enums.ToolRisk, Values = RiskValues, Ordered = true },
        new() { Path = "tool.sideEffect", Kind = AttributeKind.Enum, Slot = Enums.ToolSideEffect, Values = SideEffectValues, Ordered = true },
        new() { Path = "tool.tags", Kind = AttributeKind.StringList, Slot = Lists.Tags },
        new() { Path = "context.tainted", Kind = AttributeKind.Json, ArgPath = TaintedKey, Declared = ValueType.Bool },
        new() { Path = "context.taintSources", Kind = AttributeKind.StringList, Slot = Lists.TaintSources },
        new() { Path = "resource.target", Kind = AttributeKind.String, Slot = Strings.ResourceTarget },
        new() { Path = "resource.environment", Kind = AttributeKind.Enum, Slot = Enums.ResourceEnvironment, Values = EnvironmentValues, Open = true },
        new() { Path = "context.environment", Kind = AttributeKind.Enum, Slot = Enums.ContextEnvironment, Values = EnvironmentValues, Open = true },
        new() { Path = "context.hour", Kind = AttributeKind.Number, Slot = Numbers.Hour, Min = 0, Max = 23, Integer = true },
        new() { Path = "context.budgetUsed", Kind = AttributeKind.Number, Slot = Numbers.BudgetUsed, Min = 0 },
        new() { Path = "context.stepsTaken", Kind = AttributeKind.Number, Slot = Numbers.StepsTaken, Min = 0, Integer = true },
        new() { Path = "context.autonomy", Kind = AttributeKind.Enum, Slot = Enums.ContextAutonomy, Values = AutonomyValues, Ordered = true, Open = true },
    ];

    private static readonly FrozenDictionary<string, AttributeInfo> ByPath = All.ToFrozenDictionary(a => a.Path, StringComparer.Ordinal);

    public static bool TryResolve(string path, out AttributeInfo info)
    {
        if (ByPath.TryGetValue(path, out info!))
        {
            return true;
        }
        if (path.StartsWith("args.", StringComparison.Ordinal))
        {
            info = new AttributeInfo { Path = path, Kind = AttributeKind.Json, ArgPath = path["args.".Length..] };
            return true;
        }
        if (path.StartsWith("assessment.", StringComparison.Ordinal))
        {
            info = new AttributeInfo { Path = path, Kind = AttributeKind.Json, ArgPath = AssessmentKey + path["assessment".Length..] };
            return true;
        }
        return false;
    }

    /// <summary>The message for an unknown attribute, with the nearest known one when there is a plausible one.</summary>
    public static string UnknownMessage(string path)
    {
        if (path == "args")
        {
            return "unknown attribute 'args' (name an argument, e.g. 'args.target')";
        }
        if (path == "assessment")
        {
            return "unknown attribute 'assessment' (name a member of the tool's assessment, e.g. 'assessment.riskBand')";
        }
        var nearest = Nearest(path, All.Select(a => a.Path));
        if (nearest is not null)
        {
            return $"unknown attribute '{path}' (did you mean '{nearest}'?)";
        }
        return $"unknown attribute '{path}' (attributes start with principal., agent., tool., args., assessment., resource. or context.)";
    }

    /// <summary>The candidate closest to <paramref name="word"/> by edit distance, if it is close enough to be a typo.</summary>
    public static string? Nearest(string word, IEnumerable<string> candidates)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in candidates)
        {
            var distance = EditDistance(word, candidate);
            if (distance < bestDistance)
            {
                (best, bestDistance) = (candidate, distance);
            }
        }
        // A third of the word, at least 1 and at most 3 edits: 'tool.riks' -> 'tool.risk', not 'foo' -> 'tool.tags'.
        var allowed = Math.Clamp(word.Length / 3, 1, 3);
        if (bestDistance <= allowed)
        {
            return best;
        }
        // A truncated name ('context.budget' for 'context.budgetUsed') is a typo too.
        return word.Length >= 3
            ? candidates.Where(c => c.StartsWith(word, StringComparison.Ordinal)).OrderBy(c => c.Length).FirstOrDefault()
            : null;
    }

    /// <summary>Optimal string alignment distance (Levenshtein plus adjacent transpositions).</summary>
    public static int EditDistance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }
        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }
        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }
        return d[a.Length, b.Length];
    }
}
