using System.Text.Json.Nodes;
using Agentic.Core.Agents;
using Agentic.Core.Json;
using Agentic.Core.Policy.Language;

namespace Agentic.Core.Monitors;

/// <summary>
/// A monitor: on its <see cref="Schedule"/> it perceives <see cref="Target"/> through <see cref="Signal"/> (the perception
/// an agent's run uses), and when <see cref="When"/> holds over the observation it starts a run of <see cref="Agent"/> on
/// the target, at most one at a time per incident (<see cref="Incident"/>), requested by its own principal
/// (<see cref="Principal"/>). Monitors are YAML documents beside the agents (<c>agents/monitors/*.yaml</c>), read by
/// <see cref="MonitorLoader"/>.
/// </summary>
public sealed record MonitorDefinition
{
    /// <summary>The prefix of every monitor's principal.</summary>
    public const string PrincipalPrefix = "monitor:";

    /// <summary>The incident key of a monitor that names none: one incident per probed route.</summary>
    public const string DefaultIncident = "${observation.source}";

    /// <summary>The quiet time after a run of an incident that a monitor names none of.</summary>
    public static readonly TimeSpan DefaultCooldown = TimeSpan.FromMinutes(10);

    /// <summary>The longest cooldown.</summary>
    public static readonly TimeSpan MaxCooldown = TimeSpan.FromDays(7);

    /// <summary>The longest incident key a tick record keeps as text (the run id derives from the whole key).</summary>
    public const int MaxIncidentText = 256;

    /// <summary>The monitor's name: 1 to 64 letters, digits, '.', '_' and '-', unique in the deployment.</summary>
    public required string Name { get; init; }

    /// <summary>What the monitor watches for.</summary>
    public required string Description { get; init; }

    /// <summary>When it ticks.</summary>
    public required MonitorSchedule Schedule { get; init; }

    /// <summary>Whether the YAML turns it on (<c>Agentic:Monitors:Enabled:{name}</c> overrides it).</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>What it perceives and what the runs it starts act on: a run target.</summary>
    public required string Target { get; init; }

    /// <summary>How it perceives the target, written as an agent's <c>signals:</c> entry.</summary>
    public SignalSource Signal { get; init; } = HttpProbeSource.Health;

    /// <summary>The condition (the policy expression language over <c>observation.*</c> and <c>monitor.*</c>) that starts a run.</summary>
    public required string When { get; init; }

    /// <summary>The incident key: a text with <c>${attribute}</c> bindings over the same attributes.</summary>
    public string Incident { get; init; } = DefaultIncident;

    /// <summary>The agent whose run a tick starts.</summary>
    public required string Agent { get; init; }

    /// <summary>
    /// The run's goal: a literal, never bound to the observation, since a language model planner may trust the goal and the
    /// observation comes from outside.
    /// </summary>
    public string? Goal { get; init; }

    /// <summary>After a run of an incident started, how long before the same incident may start another.</summary>
    public TimeSpan Cooldown { get; init; } = DefaultCooldown;

    /// <summary>The file the monitor was read from (<c>agents/monitors/checkout.yaml</c> for a shipped one).</summary>
    public string? Source { get; init; }

    /// <summary>SHA-256 of the monitor's YAML text.</summary>
    public string? Hash { get; init; }

    /// <summary>The principal its runs are requested by: <c>monitor:{name}</c>, holding the requester role only.</summary>
    public string Principal => PrincipalPrefix + Name;

    internal Condition Condition { get; init; } = null!;

    internal TextTemplate IncidentTemplate { get; init; } = null!;

    /// <summary>Where the YAML names the monitor, its agent and its target (line, column), for diagnostics at start.</summary>
    internal (int Line, int Column) NameAt { get; init; }

    internal (int Line, int Column) AgentAt { get; init; }

    internal (int Line, int Column) TargetAt { get; init; }

    /// <summary>What the condition and the incident key read of <paramref name="observation"/>.</summary>
    internal PlaybookScope Scope(Observation observation) => PlaybookScope.Of(new JsonObject
    {
        ["monitor"] = new JsonObject { ["name"] = Name, ["agent"] = Agent, ["target"] = Target },
        ["observation"] = PlaybookScope.ObservationNode(observation),
    });

    /// <summary>Whether the condition holds over <paramref name="observation"/>.</summary>
    internal bool Holds(Observation observation)
    {
        var request = Scope(observation).Request();
        return Condition(in request);
    }

    /// <summary>The incident key of <paramref name="observation"/> (<c>-</c> when it renders empty).</summary>
    internal string IncidentOf(Observation observation)
    {
        var key = IncidentTemplate.Render(Scope(observation)).Trim();
        return key.Length == 0 ? "-" : key;
    }

    /// <summary>A short, stable name of an incident key: the first 32 hex digits of its SHA-256.</summary>
    public static string IncidentId(string incident) => AgenticJson.Digest(incident)["sha256:".Length..][..32];
}

/// <summary>The attributes a monitor's condition and incident key may name: <c>monitor.*</c> and <c>observation.*</c>.</summary>
internal sealed class MonitorSchema : AttributeSchema
{
    public static MonitorSchema Instance { get; } = new();

    private static readonly Dictionary<string, Policy.Language.ValueType> Known = new(
        new (string Path, Policy.Language.ValueType Type)[]
        {
            ("monitor.name", Policy.Language.ValueType.String),
            ("monitor.agent", Policy.Language.ValueType.String),
            ("monitor.target", Policy.Language.ValueType.String),
        }.Concat(PlaybookSchema.ObservationAttributes).ToDictionary(a => a.Path, a => a.Type),
        StringComparer.Ordinal);

    public override bool TryResolve(string path, out AttributeInfo info)
    {
        if (Known.TryGetValue(path, out var type))
        {
            info = new AttributeInfo { Path = path, Kind = AttributeKind.Json, ArgPath = path, Declared = type };
            return true;
        }
        if (PlaybookSchema.IsObservationDetail(path))
        {
            info = new AttributeInfo { Path = path, Kind = AttributeKind.Json, ArgPath = path };
            return true;
        }
        info = null!;
        return false;
    }

    public override string UnknownMessage(string path)
    {
        var nearest = PolicySchema.Nearest(path, Known.Keys.Order(StringComparer.Ordinal));
        return nearest is not null
            ? $"unknown attribute '{path}' (did you mean '{nearest}'?)"
            : $"unknown attribute '{path}' (a monitor reads {string.Join(", ", Known.Keys.Order(StringComparer.Ordinal))} and observation.details.<path>)";
    }
}
