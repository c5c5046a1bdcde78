using System.Globalization;
using Agentic.Core.Agents;
using Agentic.Core.Policy.Language;
using Agentic.Core.Runs;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Agentic.Core.Monitors;

/// <summary>
/// The monitors of a deployment: the YAML documents in the <c>monitors/</c> directory beside its agents, the shipped
/// <c>agents/monitors/*.yaml</c> (embedded) with the shipped agents, or <c>{Agentic:Agents:Path}/monitors/</c> with
/// agents of one's own (so a deployment that replaces the agents replaces the monitors that name them too). A host whose
/// agents are built in code has none.
/// </summary>
public sealed class MonitorCatalog
{
    /// <summary>The directory beside the agents that holds the monitors.</summary>
    public const string DirectoryName = "monitors";

    private const string EmbeddedPrefix = "Agentic.Core.monitors.";

    private static readonly Lazy<MonitorCatalog> LazyDefault =
        new(() => new MonitorCatalog(MonitorLoader.LoadAll(ShippedDocuments.Read(EmbeddedPrefix, "agents/monitors/"))));

    private readonly Dictionary<string, MonitorDefinition> _monitors;

    /// <summary>A catalog over <paramref name="monitors"/>.</summary>
    public MonitorCatalog(IEnumerable<MonitorDefinition> monitors) =>
        _monitors = monitors.ToDictionary(m => m.Name, StringComparer.Ordinal);

    /// <summary>The monitors that ship with the product (beside the shipped agents).</summary>
    public static MonitorCatalog Default => LazyDefault.Value;

    /// <summary>
    /// The monitors beside the agents at <paramref name="agentsPath"/> (<c>Agentic:Agents:Path</c>): its <c>monitors/</c>
    /// directory (none when it has no such directory), or the shipped monitors when no path is given. Throws
    /// <see cref="MonitorLoadException"/> with every diagnostic.
    /// </summary>
    public static MonitorCatalog Load(string? agentsPath) =>
        string.IsNullOrWhiteSpace(agentsPath) ? Default : new(MonitorLoader.LoadDirectory(Path.Combine(agentsPath, DirectoryName)));

    /// <summary>Every monitor, by name.</summary>
    public IEnumerable<MonitorDefinition> Monitors => _monitors.Values.OrderBy(m => m.Name, StringComparer.Ordinal);

    /// <summary>The monitors' names.</summary>
    public IEnumerable<string> Names => _monitors.Keys.Order(StringComparer.Ordinal);

    /// <summary>Whether a monitor called <paramref name="name"/> exists.</summary>
    public bool Contains(string name) => _monitors.ContainsKey(name);

    /// <summary>The monitor called <paramref name="name"/>.</summary>
    public MonitorDefinition Get(string name) =>
        _monitors.TryGetValue(name, out var monitor) ? monitor : throw new KeyNotFoundException($"Unknown monitor '{name}'.");

    /// <summary>
    /// What the deployment makes of its monitors: each must name an agent it has, and each enabled one a target that agent
    /// may run against (a disabled one is checked when it is turned on). Every problem is a diagnostic at the YAML's key.
    /// </summary>
    public IReadOnlyList<Diagnostic> Check(AgentCatalog agents, RunTargets targets, Func<MonitorDefinition, bool> enabled)
    {
        ArgumentNullException.ThrowIfNull(agents);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(enabled);
        var problems = new List<Diagnostic>();
        foreach (var monitor in Monitors)
        {
            var file = monitor.Source ?? "monitors";
            if (!agents.Contains(monitor.Agent))
            {
                var nearest = PolicySchema.Nearest(monitor.Agent, agents.Names);
                problems.Add(new Diagnostic(file, monitor.AgentAt.Line, monitor.AgentAt.Column, DiagnosticCodes.UnknownAgent, nearest is not null
                    ? $"monitor '{monitor.Name}' runs agent '{monitor.Agent}', which the deployment does not have (did you mean '{nearest}'?)"
                    : $"monitor '{monitor.Name}' runs agent '{monitor.Agent}', which the deployment does not have (agents: {string.Join(", ", agents.Names)})"));
                continue;
            }
            if (enabled(monitor) && targets.Check(monitor.Target, agents.Get(monitor.Agent), out var refusal) is null)
            {
                problems.Add(new Diagnostic(file, monitor.TargetAt.Line, monitor.TargetAt.Column, DiagnosticCodes.TargetNotAllowed,
                    $"monitor '{monitor.Name}' is enabled and its target is not a run target of agent '{monitor.Agent}': {refusal} (allow it in Agentic:Targets:Allow, or turn the monitor off)"));
            }
        }
        return problems;
    }
}

/// <summary>
/// How the deployment runs its monitors. Bound from the <c>Agentic:Monitors</c> section:
/// <code>
/// "Agentic": {
///   "Monitors": {
///     "Schedule": "*/15 * * * * *",      // the Functions app's timer (%Agentic:Monitors:Schedule%): how often due monitors are looked for
///     "Enabled": { "checkout": true },   // turns a monitor on or off whatever its YAML says
///     "TicksKept": 100                   // tick records kept per monitor
///   }
/// }
/// </code>
/// </summary>
public sealed class MonitorOptions
{
    /// <summary>The configuration section name.</summary>
    public const string Section = "Agentic:Monitors";

    /// <summary>How late a tick may be, beyond the evaluation schedule's own gaps, before it counts as past due.</summary>
    public static readonly TimeSpan Slack = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The Functions app's evaluation schedule (its timer trigger's, six-field NCRONTAB): each firing ticks the monitors that
    /// are due. The local host wakes at each monitor's own occurrences instead; with this set, both hosts allow a tick to be
    /// as late as the schedule's longest gap before it counts as past due.
    /// </summary>
    public string? Schedule { get; set; }

    /// <summary>Monitors turned on (<c>true</c>) or off (<c>false</c>) whatever their YAML says, by name.</summary>
    public Dictionary<string, bool> Enabled { get; } = new(StringComparer.Ordinal);

    /// <summary>How many tick records are kept per monitor (1 to 1000).</summary>
    public int TicksKept { get; set; } = 100;

    /// <summary>Whether <paramref name="monitor"/> ticks.</summary>
    public bool IsEnabled(MonitorDefinition monitor)
    {
        ArgumentNullException.ThrowIfNull(monitor);
        return Enabled.TryGetValue(monitor.Name, out var on) ? on : monitor.Enabled;
    }

    /// <summary>How long after an occurrence a tick may still be on time: the evaluation schedule's longest gap, plus <see cref="Slack"/>.</summary>
    public TimeSpan Grace(DateTimeOffset now) =>
        (MonitorSchedule.TryParse(Schedule, out _) is { } schedule ? schedule.LongestGap(now) : TimeSpan.Zero) + Slack;

    /// <summary>Every problem with the options, each naming its setting; empty when they are valid.</summary>
    public IReadOnlyList<string> Validate(MonitorCatalog monitors)
    {
        ArgumentNullException.ThrowIfNull(monitors);
        var problems = new List<string>();
        if (Schedule is not null && MonitorSchedule.TryParse(Schedule, out var problem) is null)
        {
            problems.Add($"{Section}:Schedule: {problem}.");
        }
        if (TicksKept is < 1 or > 1000)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"{Section}:TicksKept: {TicksKept} is not from 1 to 1000."));
        }
        foreach (var name in Enabled.Keys.Where(n => !monitors.Contains(n)).Order(StringComparer.Ordinal))
        {
            problems.Add($"{Section}:Enabled:{name} names no monitor (monitors: {(monitors.Names.Any() ? string.Join(", ", monitors.Names) : "none")}).");
        }
        return problems;
    }
}

/// <summary>Validates <see cref="MonitorOptions"/> when the host starts.</summary>
internal sealed class MonitorOptionsValidator(MonitorCatalog monitors) : IValidateOptions<MonitorOptions>
{
    public ValidateOptionsResult Validate(string? name, MonitorOptions options) =>
        options.Validate(monitors) is { Count: > 0 } problems ? ValidateOptionsResult.Fail(problems) : ValidateOptionsResult.Success;
}

/// <summary>
/// Checks the monitors when the host starts, right after the agents and before the engine: every monitor loads (a bad one
/// fails with every diagnostic), names an agent the deployment has, and, when enabled, a target that agent may run against.
/// The host does not start with a monitor that fails.
/// </summary>
public sealed class MonitorCatalogCheck(
    MonitorCatalog monitors,
    AgentCatalog agents,
    RunTargets targets,
    IOptions<MonitorOptions> options,
    ILogger<MonitorCatalogCheck>? logger = null) : IHostedService
{
    private readonly ILogger _logger = (ILogger?)logger ?? NullLogger.Instance;

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (monitors.Check(agents, targets, settings.IsEnabled) is { Count: > 0 } problems)
        {
            throw new MonitorLoadException(problems);
        }
        foreach (var monitor in monitors.Monitors)
        {
            MonitorLogs.Offered(_logger, monitor.Name, monitor.Schedule.Text, monitor.Agent, settings.IsEnabled(monitor) ? "on" : "off", monitor.Source ?? "code");
        }
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
