using Agentic.Core.Agents;
using Agentic.Core.Json;
using Agentic.Core.Policy.Language;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Agentic.Core.Monitors;

/// <summary>
/// Loads monitor YAML documents (one monitor per file, <c>agents/monitors/*.yaml</c>): reads and checks every field,
/// compiles the condition with the policy language's parser, checker and compiler over the monitor's attributes, and
/// checks the incident key's bindings. Any problem fails the load with every diagnostic found (file, line, column, code,
/// message). Whether the agent exists and the target is allowed is checked against the deployment at start
/// (<see cref="MonitorCatalog.Check"/>).
/// </summary>
/// <remarks>
/// <code>
/// name: checkout                      # required: letters, digits, '.', '_', '-'
/// description: ...                    # required
/// schedule: "*/30 * * * * *"          # required: NCRONTAB, six fields (the Functions timer trigger's format), UTC
/// enabled: false                      # default true; Agentic:Monitors:Enabled:{name} overrides it
/// target: http://127.0.0.1:7072/services/checkout   # required: a run target
/// signal: { kind: http-probe, path: health, timeout: 10s }   # an agent's signals: entry; default the health probe
/// when: "!observation.healthy"        # required: the policy expression language over observation.* and monitor.*
/// incident: ${observation.source}     # the incident key (default): one active run per key
/// agent: service-healer               # required
/// goal: Keep checkout healthy.        # the run's goal, a literal (default: the description)
/// cooldown: 10m                       # after a run of an incident started, none for it before this (default 10m; 0s: none)
/// </code>
/// </remarks>
public static class MonitorLoader
{
    private static readonly string[] Keys = ["name", "description", "schedule", "enabled", "target", "signal", "when", "incident", "agent", "goal", "cooldown"];
    private static readonly string[] Required = ["name", "description", "schedule", "target", "when", "agent"];

    /// <summary>
    /// Loads every monitor in <paramref name="directory"/> (<c>*.yaml</c> and <c>*.yml</c>); a directory that does not exist
    /// holds none.
    /// </summary>
    /// <exception cref="MonitorLoadException">A monitor has problems, or two share a name.</exception>
    public static IReadOnlyList<MonitorDefinition> LoadDirectory(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (!Directory.Exists(directory))
        {
            return [];
        }
        return LoadAll(Directory.EnumerateFiles(directory)
            .Where(f => f.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".yml", StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal)
            .Select(f => (File: f, Text: File.ReadAllText(f))));
    }

    /// <summary>Loads one monitor from its YAML text; <paramref name="file"/> names it in diagnostics.</summary>
    /// <exception cref="MonitorLoadException">The monitor has problems.</exception>
    public static MonitorDefinition Load(string yaml, string file) => LoadAll([(file, yaml)]).Single();

    /// <summary>Loads several monitor documents; a name used twice is reported at its second use.</summary>
    /// <exception cref="MonitorLoadException">Every problem of every document, in file order.</exception>
    public static IReadOnlyList<MonitorDefinition> LoadAll(IEnumerable<(string File, string Text)> documents)
    {
        ArgumentNullException.ThrowIfNull(documents);
        var monitors = new List<MonitorDefinition>();
        var diagnostics = new List<Diagnostic>();
        var first = new Dictionary<string, (string File, int Line)>(StringComparer.Ordinal);
        foreach (var (file, text) in documents)
        {
            var source = new YamlSource(file, text);
            var (monitor, name, nameAt) = Read(source);
            if (name is not null && first.TryGetValue(name, out var earlier))
            {
                source.Report(nameAt.Line, nameAt.Column, DiagnosticCodes.DuplicateMonitor, $"duplicate monitor name '{name}' (first defined in {earlier.File} at line {earlier.Line})");
            }
            else if (name is not null)
            {
                first[name] = (file, nameAt.Line);
            }
            diagnostics.AddRange(source.Sorted());
            if (monitor is not null && !source.HasErrors)
            {
                monitors.Add(monitor);
            }
        }
        if (diagnostics.Count > 0)
        {
            throw new MonitorLoadException(diagnostics);
        }
        return monitors;
    }

    private static (MonitorDefinition? Monitor, string? Name, (int Line, int Column) NameAt) Read(YamlSource source)
    {
        var root = source.Parse("a monitor with name, description, schedule, target, when and agent");
        var members = root is null ? null : source.Mapping(root, "a monitor", "the monitor", Keys, Required);
        if (members is null)
        {
            return (null, null, default);
        }
        var name = AgentLoader.Text(source, members, "name", "the monitor");
        (int Line, int Column) nameAt = default;
        if (name is not null)
        {
            nameAt = At(members["name"].Value);
            if (!AgentLoader.IsAgentName(name))
            {
                source.Report(members["name"].Value.Start, DiagnosticCodes.InvalidValue, $"invalid monitor name '{name}' (use 1 to 64 letters, digits, '.', '_' and '-', starting with a letter or digit)");
                name = null;
            }
        }
        var where = name is null ? "the monitor" : $"monitor '{name}'";
        var description = AgentLoader.Text(source, members, "description", where);

        MonitorSchedule? schedule = null;
        if (AgentLoader.Text(source, members, "schedule", where) is { } scheduleText)
        {
            schedule = MonitorSchedule.TryParse(scheduleText, out var problem);
            if (schedule is null)
            {
                source.Report(members["schedule"].Value.Start, DiagnosticCodes.InvalidSchedule, $"invalid schedule in {where}: {problem}");
            }
        }
        var enabled = !members.TryGetValue("enabled", out var enabledMember) || AgentLoader.Bool(source, enabledMember, where);

        var target = AgentLoader.Text(source, members, "target", where);
        if (target is not null && (!Uri.TryCreate(target, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Query.Length > 0 || uri.Fragment.Length > 0))
        {
            source.Report(members["target"].Value.Start, DiagnosticCodes.InvalidValue, $"'target' in {where} must be an absolute http or https URI without a query, not '{target}'");
            target = null;
        }

        SignalSource? signal = HttpProbeSource.Health;
        if (members.TryGetValue("signal", out var signalMember))
        {
            signal = AgentLoader.ReadSignal(source, signalMember.Value, "the signal of " + where, readFile: null, out _);
            if (signal is not null and not HttpProbeSource)
            {
                source.Report(signalMember.Value.Start, DiagnosticCodes.InvalidValue, $"{where} perceives through '{signal.Kind}', which a monitor can not read without a run (use {HttpProbeSource.KindName})");
                signal = null;
            }
        }

        Condition? condition = null;
        var whenText = "";
        if (members.TryGetValue("when", out var whenMember))
        {
            condition = AgentLoader.Predicate(source, whenMember, where, MonitorSchema.Instance);
            whenText = whenMember.Value is YamlScalarNode { Value: { } w } ? w : "";
        }
        var incidentText = MonitorDefinition.DefaultIncident;
        TextTemplate? incident;
        if (members.TryGetValue("incident", out var incidentMember))
        {
            incident = AgentLoader.Template(source, incidentMember, where, MonitorSchema.Instance);
            incidentText = incidentMember.Value is YamlScalarNode { Value: { } i } ? i : incidentText;
        }
        else
        {
            incident = new TextTemplate([new(null, "observation.source")]);
        }

        var agent = AgentLoader.Text(source, members, "agent", where);
        if (agent is not null && !AgentLoader.IsAgentName(agent))
        {
            source.Report(members["agent"].Value.Start, DiagnosticCodes.InvalidValue, $"'agent' in {where} must be an agent's name, not '{agent}'");
            agent = null;
        }

        var goal = AgentLoader.Text(source, members, "goal", where);
        if (goal is { Length: > 2000 })
        {
            source.Report(members["goal"].Value.Start, DiagnosticCodes.InvalidValue, $"'goal' in {where} must be at most 2000 characters");
        }
        else if (goal is not null && goal.Contains("${", StringComparison.Ordinal))
        {
            // The goal reaches planners as the request's own words; a binding would carry observed (outside) text into it.
            source.Report(members["goal"].Value.Start, DiagnosticCodes.InvalidValue, $"'goal' in {where} is a literal: bindings (${{...}}) would put observed text into what a planner reads as the request");
        }

        var cooldown = MonitorDefinition.DefaultCooldown;
        if (AgentLoader.Text(source, members, "cooldown", where) is { } cooldownText)
        {
            var parsed = cooldownText is "0" or "0s" ? TimeSpan.Zero : PolicyLoader.ParseDuration(cooldownText);
            if (parsed is { } value && value <= MonitorDefinition.MaxCooldown)
            {
                cooldown = value;
            }
            else
            {
                source.Report(members["cooldown"].Value.Start, DiagnosticCodes.InvalidDuration, $"invalid cooldown '{cooldownText}' in {where} (a duration of at most 7d, e.g. '10m', or '0s' for none)");
            }
        }

        if (source.HasErrors || name is null || description is null || schedule is null || target is null || signal is null || condition is null || incident is null || agent is null)
        {
            return (null, name, nameAt);
        }
        return (new MonitorDefinition
        {
            Name = name,
            Description = description,
            Schedule = schedule,
            Enabled = enabled,
            Target = target,
            Signal = signal,
            When = whenText,
            Incident = incidentText,
            Agent = agent,
            Goal = goal,
            Cooldown = cooldown,
            Source = source.File,
            Hash = AgenticJson.Digest(source.Text),
            Condition = condition,
            IncidentTemplate = incident,
            NameAt = nameAt,
            AgentAt = At(members["agent"].Value),
            TargetAt = At(members["target"].Value),
        }, name, nameAt);
    }

    private static (int Line, int Column) At(YamlNode node) => (YamlSource.Line(node), YamlSource.Column(node));
}

/// <summary>Monitors failed to load; <see cref="Diagnostics"/> lists every problem found, in file order.</summary>
public sealed class MonitorLoadException : Exception
{
    /// <summary>A load failure with its diagnostics (at least one).</summary>
    public MonitorLoadException(IReadOnlyList<Diagnostic> diagnostics)
        : base(Diagnostic.Describe("The monitors", diagnostics))
    {
        Diagnostics = diagnostics;
    }

    /// <summary>Every problem found, in the order of the files.</summary>
    public IReadOnlyList<Diagnostic> Diagnostics { get; }
}
