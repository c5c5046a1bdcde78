using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Agentic.Core.Policy.Language;

namespace Agentic.Core.Agents;

/// <summary>The type of a playbook parameter.</summary>
internal enum ParameterType
{
    Integer,
    Number,
    String,
    Boolean,
}

/// <summary>
/// A parameter a playbook reads from the run request's <c>parameters</c>: a value of its type (an integer or number
/// clamped to <see cref="Min"/>..<see cref="Max"/>), else <see cref="Default"/>.
/// </summary>
internal sealed record PlaybookParameter(string Name, ParameterType Type, JsonNode? Default, double? Min, double? Max)
{
    /// <summary>The value from the request's parameters, or the default.</summary>
    public JsonNode? Resolve(JsonElement? parameters)
    {
        if (parameters is not { ValueKind: JsonValueKind.Object } p || !p.TryGetProperty(Name, out var v))
        {
            return Default?.DeepClone();
        }
        switch (Type)
        {
            case ParameterType.Integer when v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var n):
                // Clamped in the integer domain: a bound never turns the value into a fraction.
                var low = Min is { } min ? (int)Math.Ceiling(min) : int.MinValue;
                var high = Max is { } max ? (int)Math.Floor(max) : int.MaxValue;
                return JsonValue.Create(Math.Clamp(n, low, high));
            case ParameterType.Number when v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out var d) && double.IsFinite(d):
                return JsonValue.Create(Math.Clamp(d, Min ?? double.MinValue, Max ?? double.MaxValue));
            case ParameterType.String when v.ValueKind == JsonValueKind.String:
                return JsonValue.Create(v.GetString());
            case ParameterType.Boolean when v.ValueKind is JsonValueKind.True or JsonValueKind.False:
                return JsonValue.Create(v.ValueKind == JsonValueKind.True);
            default:
                return Default?.DeepClone();
        }
    }
}

/// <summary>A text with <c>${attribute}</c> bindings: literal parts and attribute paths, in order.</summary>
internal sealed class TextTemplate(IReadOnlyList<TextTemplate.Part> parts)
{
    /// <summary>A literal text (<see cref="Path"/> null) or a binding.</summary>
    public readonly record struct Part(string? Literal, string? Path);

    public IReadOnlyList<Part> Parts { get; } = parts;

    /// <summary>The binding, when the whole text is one binding (its value keeps its JSON type).</summary>
    public string? Whole => Parts is [{ Path: { } path }] ? path : null;

    public string Render(PlaybookScope scope)
    {
        if (Parts is [{ Literal: { } only }])
        {
            return only;
        }
        var text = new System.Text.StringBuilder();
        foreach (var part in Parts)
        {
            text.Append(part.Literal ?? Format(scope.Value(part.Path!)));
        }
        return text.ToString();
    }

    /// <summary>How a bound value reads inside a text: strings as they are, numbers and booleans as JSON writes them, nothing for a missing value.</summary>
    private static string Format(JsonElement? value) => value switch
    {
        null => "",
        { ValueKind: JsonValueKind.String } s => s.GetString()!,
        { ValueKind: JsonValueKind.Null or JsonValueKind.Undefined } => "",
        { } other => other.GetRawText(),
    };
}

/// <summary>A tool argument template: a JSON value whose strings may hold bindings.</summary>
internal abstract record ValueTemplate
{
    public abstract JsonNode? Render(PlaybookScope scope);

    /// <summary>A value without bindings.</summary>
    public sealed record Literal(JsonNode? Value) : ValueTemplate
    {
        public override JsonNode? Render(PlaybookScope scope) => Value?.DeepClone();
    }

    /// <summary>A string with bindings; a string that is exactly one binding takes the bound value as it is.</summary>
    public sealed record Text(TextTemplate Template) : ValueTemplate
    {
        public override JsonNode? Render(PlaybookScope scope) => Template.Whole is { } path
            ? scope.Value(path) is { } value ? JsonSerializer.SerializeToNode(value) : null
            : JsonValue.Create(Template.Render(scope));
    }

    /// <summary>A mapping, members in the order written.</summary>
    public sealed record Mapping(IReadOnlyList<KeyValuePair<string, ValueTemplate>> Members) : ValueTemplate
    {
        public override JsonNode Render(PlaybookScope scope)
        {
            var result = new JsonObject();
            foreach (var (key, value) in Members)
            {
                result[key] = value.Render(scope);
            }
            return result;
        }
    }

    /// <summary>A list.</summary>
    public sealed record Sequence(IReadOnlyList<ValueTemplate> Items) : ValueTemplate
    {
        public override JsonNode Render(PlaybookScope scope) => new JsonArray([.. Items.Select(i => i.Render(scope))]);
    }
}

/// <summary>A step template: a tool call, optionally repeated and optionally conditional.</summary>
internal sealed record StepTemplate(string Tool, ValueTemplate.Mapping Arguments, TextTemplate Rationale, Condition? When, StepRepeat? Repeat);

/// <summary>How many times a step repeats: a fixed count or an integer parameter.</summary>
internal sealed record StepRepeat(int? Count, string? Parameter)
{
    public int Times(PlaybookScope scope) =>
        Count ?? (scope.Value("parameters." + Parameter) is { ValueKind: JsonValueKind.Number } v && v.TryGetInt32(out var n) ? Math.Max(0, n) : 0);
}

/// <summary>A playbook rule: when its condition holds (or always, without one), the plan it makes.</summary>
internal sealed record PlaybookRule(Condition? When, TextTemplate Rationale, bool ExpectHealthy, IReadOnlyList<StepTemplate> Steps);

/// <summary>
/// A deterministic playbook read from an agent's YAML: the first rule whose observation predicate holds makes the plan,
/// its step templates bound to the run, the observation and the parameters. Steps are numbered <c>s1</c>, <c>s2</c>, ...
/// in plan order.
/// </summary>
internal sealed class Playbook(string agent, string version, IReadOnlyList<PlaybookParameter> parameters, IReadOnlyList<PlaybookRule> rules)
{
    /// <summary>The planner id plans carry: <c>playbook:{agent}@{version}</c>.</summary>
    public string PlannerId { get; } = $"playbook:{agent}@{version}";

    public IReadOnlyList<PlaybookParameter> Parameters { get; } = parameters;

    public IReadOnlyList<PlaybookRule> Rules { get; } = rules;

    /// <summary>The plan for <paramref name="input"/>.</summary>
    public Plan Plan(PlanInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var scope = PlaybookScope.For(agent, version, input, Parameters);
        var request = scope.Request();
        foreach (var rule in Rules)
        {
            if (rule.When is { } when && !when(in request))
            {
                continue;
            }
            var steps = new List<PlanStep>();
            foreach (var template in rule.Steps)
            {
                var times = template.Repeat?.Times(scope) ?? 1;
                for (var i = 1; i <= times; i++)
                {
                    var stepScope = template.Repeat is null ? scope : scope.Repeating(i, times);
                    if (template.When is { } stepWhen)
                    {
                        var stepRequest = stepScope.Request();
                        if (!stepWhen(in stepRequest))
                        {
                            continue;
                        }
                    }
                    var id = "s" + (steps.Count + 1).ToString(CultureInfo.InvariantCulture);
                    var arguments = JsonSerializer.SerializeToElement(template.Arguments.Render(stepScope));
                    steps.Add(new PlanStep(id, template.Tool, arguments, template.Rationale.Render(stepScope)));
                }
            }
            return new Plan(PlannerId, steps, rule.ExpectHealthy, rule.Rationale.Render(scope));
        }
        return new Plan(PlannerId, [], ExpectHealthy: false, $"No rule of the playbook matches the observation (status {input.Observation.Status}); no action.");
    }
}

/// <summary>
/// What a playbook's predicates and bindings read: <c>run.*</c>, <c>agent.*</c>, <c>observation.*</c>,
/// <c>parameters.*</c>, and inside a repeated step <c>repeat.*</c>, as one JSON document.
/// </summary>
internal sealed class PlaybookScope
{
    private readonly JsonElement _document;

    private PlaybookScope(JsonElement document) => _document = document;

    public static PlaybookScope For(string agent, string version, PlanInput input, IReadOnlyList<PlaybookParameter> parameters)
    {
        var observation = input.Observation;
        var values = new JsonObject();
        foreach (var parameter in parameters)
        {
            values[parameter.Name] = parameter.Resolve(input.Parameters);
        }
        var document = new JsonObject
        {
            ["run"] = new JsonObject
            {
                ["id"] = input.RunId,
                ["target"] = input.Target,
                ["goal"] = input.Goal,
                ["round"] = input.Round,
            },
            ["agent"] = new JsonObject { ["name"] = agent, ["version"] = version },
            ["observation"] = ObservationNode(observation),
            ["parameters"] = values,
        };
        return new PlaybookScope(JsonSerializer.SerializeToElement(document));
    }

    /// <summary>A scope over <paramref name="document"/> (a monitor's: <c>monitor.*</c> and <c>observation.*</c>).</summary>
    public static PlaybookScope Of(JsonObject document) => new(JsonSerializer.SerializeToElement(document));

    /// <summary>What <c>observation.*</c> reads, the same for a playbook and a monitor.</summary>
    public static JsonObject ObservationNode(Observation observation) => new()
    {
        ["source"] = observation.Source,
        ["digest"] = observation.Digest,
        ["healthy"] = observation.Healthy,
        ["status"] = observation.Status,
        ["details"] = observation.Details.ValueKind == JsonValueKind.Undefined ? null : JsonSerializer.SerializeToNode(observation.Details),
        ["signals"] = Signals(observation),
    };


    // Each reading by its signal's name; one that broke its contract is there without its value, which is not used.
    private static JsonObject Signals(Observation observation)
    {
        var signals = new JsonObject();
        foreach (var reading in observation.Signals ?? [])
        {
            signals[reading.Name] = new JsonObject
            {
                ["kind"] = reading.Kind,
                ["source"] = reading.Source,
                ["digest"] = reading.Digest,
                ["observedAt"] = reading.ObservedAt.ToString("O", CultureInfo.InvariantCulture),
                ["trusted"] = reading.Trusted,
                ["valid"] = !reading.Violated,
                ["value"] = reading.Violated || reading.Value is not { } value ? null : JsonSerializer.SerializeToNode(value),
            };
        }
        return signals;
    }

    /// <summary>This scope inside the <paramref name="index"/>-th of <paramref name="count"/> repetitions of a step.</summary>
    public PlaybookScope Repeating(int index, int count)
    {
        var document = JsonNode.Parse(_document.GetRawText())!.AsObject();
        document["repeat"] = new JsonObject { ["index"] = index, ["count"] = count };
        return new PlaybookScope(JsonSerializer.SerializeToElement(document));
    }

    /// <summary>The value at a dotted path, or null when there is none.</summary>
    public JsonElement? Value(string path)
    {
        var current = _document;
        foreach (var name in path.Split('.'))
        {
            if (current.ValueKind != JsonValueKind.Object || !current.TryGetProperty(name, out current))
            {
                return null;
            }
        }
        return current;
    }

    /// <summary>The scope as a request the compiled predicates evaluate.</summary>
    public PolicyRequest Request()
    {
        var values = new Dictionary<string, ArgValue>(StringComparer.Ordinal);
        ArgValue.Flatten(_document, "", values);
        return new PolicyRequest(values);
    }
}

/// <summary>The attributes a playbook's predicates and bindings may name.</summary>
internal sealed class PlaybookSchema : AttributeSchema
{
    // Declared before Fixed, which spreads it: static fields are initialized in the order written.
    /// <summary>The <c>observation.*</c> attributes (and <c>observation.details.&lt;path&gt;</c>), the same for a playbook and a monitor.</summary>
    internal static readonly (string Path, Policy.Language.ValueType Type)[] ObservationAttributes =
    [
        ("observation.source", Policy.Language.ValueType.String),
        ("observation.digest", Policy.Language.ValueType.String),
        ("observation.healthy", Policy.Language.ValueType.Bool),
        ("observation.status", Policy.Language.ValueType.String),
        ("observation.details", Policy.Language.ValueType.Json),
    ];

    private static readonly (string Path, Policy.Language.ValueType Type)[] Fixed =
    [
        ("run.id", Policy.Language.ValueType.String),
        ("run.target", Policy.Language.ValueType.String),
        ("run.goal", Policy.Language.ValueType.String),
        ("run.round", Policy.Language.ValueType.Number),
        ("agent.name", Policy.Language.ValueType.String),
        ("agent.version", Policy.Language.ValueType.String),
        .. ObservationAttributes,
    ];

    /// <summary>Whether <paramref name="path"/> reads into the observation's details (typed at run time).</summary>
    internal static bool IsObservationDetail(string path) =>
        path.StartsWith("observation.details.", StringComparison.Ordinal) && path.Length > "observation.details.".Length;

    private static readonly (string Path, Policy.Language.ValueType Type)[] RepeatAttributes =
    [
        ("repeat.index", Policy.Language.ValueType.Number),
        ("repeat.count", Policy.Language.ValueType.Number),
    ];

    private static readonly (string Name, Policy.Language.ValueType Type)[] SignalAttributes =
    [
        ("kind", Policy.Language.ValueType.String),
        ("source", Policy.Language.ValueType.String),
        ("digest", Policy.Language.ValueType.String),
        ("observedAt", Policy.Language.ValueType.String),
        ("trusted", Policy.Language.ValueType.Bool),
        ("valid", Policy.Language.ValueType.Bool),
        ("value", Policy.Language.ValueType.Json),
    ];

    private const string SignalsPrefix = "observation.signals.";

    private readonly Dictionary<string, Policy.Language.ValueType> _known = new(StringComparer.Ordinal);
    private readonly List<string> _signals;
    private readonly bool _repeating;

    public PlaybookSchema(IEnumerable<PlaybookParameter> parameters, IEnumerable<SignalSource> signals, bool repeating)
    {
        _repeating = repeating;
        _signals = [.. signals.Select(s => s.Name)];
        foreach (var signal in _signals)
        {
            foreach (var (name, type) in SignalAttributes)
            {
                _known[SignalsPrefix + signal + "." + name] = type;
            }
        }
        foreach (var (path, type) in repeating ? Fixed.Concat(RepeatAttributes) : Fixed)
        {
            _known[path] = type;
        }
        foreach (var parameter in parameters)
        {
            _known["parameters." + parameter.Name] = parameter.Type switch
            {
                ParameterType.Integer or ParameterType.Number => Policy.Language.ValueType.Number,
                ParameterType.Boolean => Policy.Language.ValueType.Bool,
                _ => Policy.Language.ValueType.String,
            };
        }
    }

    public override bool TryResolve(string path, out AttributeInfo info)
    {
        if (_known.TryGetValue(path, out var type))
        {
            info = new AttributeInfo { Path = path, Kind = AttributeKind.Json, ArgPath = path, Declared = type };
            return true;
        }
        if (IsObservationDetail(path))
        {
            info = new AttributeInfo { Path = path, Kind = AttributeKind.Json, ArgPath = path };
            return true;
        }
        // A reading's value has the shape its signal gives it (a number, a request part, a probe's values): typed at run time.
        if (path.StartsWith(SignalsPrefix, StringComparison.Ordinal) && _signals.Any(s => path.StartsWith(SignalsPrefix + s + ".value.", StringComparison.Ordinal)))
        {
            info = new AttributeInfo { Path = path, Kind = AttributeKind.Json, ArgPath = path };
            return true;
        }
        info = null!;
        return false;
    }

    public override string UnknownMessage(string path)
    {
        if (!_repeating && path.StartsWith("repeat.", StringComparison.Ordinal))
        {
            return $"unknown attribute '{path}' (repeat.index and repeat.count are defined only in a step with 'repeat')";
        }
        if (path.StartsWith("parameters.", StringComparison.Ordinal) && !_known.Keys.Any(k => k.StartsWith("parameters.", StringComparison.Ordinal)))
        {
            return $"unknown attribute '{path}' (declare the parameter under the playbook's 'parameters')";
        }
        if (path.StartsWith(SignalsPrefix, StringComparison.Ordinal))
        {
            var rest = path[SignalsPrefix.Length..];
            var signal = _signals.FirstOrDefault(s => rest.StartsWith(s + ".", StringComparison.Ordinal));
            if (signal is null)
            {
                var name = rest.Split('.')[0];
                var nearestSignal = PolicySchema.Nearest(name, _signals);
                return nearestSignal is not null
                    ? $"unknown signal '{name}' in '{path}' (did you mean '{nearestSignal}'?)"
                    : $"unknown signal '{name}' in '{path}' (the agent's signals: {string.Join(", ", _signals)})";
            }
            return $"unknown attribute '{path}' (a signal's attributes are {string.Join(", ", SignalAttributes.Select(a => a.Name))} and value.<path>)";
        }
        var nearest = PolicySchema.Nearest(path, _known.Keys.Order(StringComparer.Ordinal));
        return nearest is not null
            ? $"unknown attribute '{path}' (did you mean '{nearest}'?)"
            : $"unknown attribute '{path}' (attributes are {string.Join(", ", _known.Keys.Where(k => !k.StartsWith(SignalsPrefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))}, observation.details.<path> and observation.signals.<name>.<attribute>)";
    }
}
