using System.Globalization;
using Agentic.Core.Policy.Language;

namespace Agentic.Core.Agents;

/// <summary>
/// An agent the deployment offers: a name, what it is for, and its planner. Shipped and configured agents are YAML
/// documents (<see cref="AgentLoader"/>), which also carry a version, a content hash, the tools they may propose and
/// their signal sources; an agent built in code (a test's scripted planner) may leave those out.
/// </summary>
/// <param name="Name">The agent's name in run requests.</param>
/// <param name="Description">What the agent is for.</param>
/// <param name="Planner">Turns an observation into a plan. Must be deterministic.</param>
public sealed record AgentDefinition(string Name, string Description, Func<PlanInput, Plan> Planner)
{
    /// <summary>The most autonomy the agent runs with (see <see cref="Agents.Autonomy"/>); a request may ask for less.</summary>
    public string Autonomy { get; init; } = Agents.Autonomy.Supervised;

    /// <summary>The agent's own limits over the deployment's defaults.</summary>
    public Workflow.RunGuards? Guards { get; init; }

    /// <summary>
    /// The targets the agent may run against, narrowing the deployment's (<c>Agentic:Targets:Allow</c>): a target must
    /// match a deployment rule and one of these, and may resolve to a private address only when both allow it.
    /// <c>null</c>: every target the deployment allows.
    /// </summary>
    public IReadOnlyList<Tools.Builtin.EndpointRule>? Targets { get; init; }

    /// <summary>The definition's version (its YAML's <c>version</c>); plans and their audit records name it.</summary>
    public string? Version { get; init; }

    /// <summary>SHA-256 of the definition's YAML text: plans and their audit records name the exact text that planned.</summary>
    public string? Hash { get; init; }

    /// <summary>The file the definition was read from (<c>agents/service-healer.yaml</c> for a shipped agent).</summary>
    public string? Source { get; init; }

    /// <summary>The YAML text the definition was loaded from (its SHA-256 is <see cref="Hash"/>); <c>null</c> for an agent built in code.</summary>
    public string? Yaml { get; init; }

    /// <summary>The kind of planner: <c>playbook</c> for YAML agents, <c>code</c> for an agent built in code.</summary>
    public string PlannerKind { get; init; } = "code";

    /// <summary>
    /// The tools the agent may propose: a plan naming any other fails before its first step is gated. <c>null</c> (an
    /// agent built in code): any tool of the deployment.
    /// </summary>
    public IReadOnlyList<string>? Tools { get; init; }

    /// <summary>Where the agent's observations come from, in order; the first is the primary signal.</summary>
    public IReadOnlyList<SignalSource> Signals { get; init; } = [HttpProbeSource.Health];

    /// <summary>The tools as listed in the YAML, with their positions, for <see cref="AgentCatalog.CheckTools"/>.</summary>
    public IReadOnlyList<AgentToolReference>? ToolReferences { get; init; }

    /// <summary>Where the YAML names the agent (line, column), for the duplicate-name check.</summary>
    internal (int Line, int Column)? NameAt { get; init; }

    /// <summary>For a language model planner: its model, prompt template and trusted data sources.</summary>
    public LlmSettings? Llm { get; init; }

    /// <summary>
    /// For an agent an admin uploaded and activated (<see cref="Lifecycle.IAgentStore"/>): who stored the version and
    /// who put it in the offer, when and why. <c>null</c> for a shipped or configured agent.
    /// </summary>
    public AgentUpload? Upload { get; init; }
}

/// <summary>
/// The agents a deployment offers, by name: an immutable set, so a reader holding one sees one consistent offer. A host
/// with an agent store replaces its catalog whole when the offer changes (<see cref="Lifecycle.StoredAgentCatalog"/>);
/// a fixed catalog is its own <see cref="IAgentCatalogProvider"/>.
/// </summary>
public sealed class AgentCatalog : IAgentCatalogProvider
{
    /// <summary>The prefix of the shipped agents' manifest resource names.</summary>
    private const string EmbeddedPrefix = "Agentic.Core.agents.";

    /// <summary>The prefix of the files the shipped agents name (their data contracts), by path under <c>agents/</c>.</summary>
    private const string EmbeddedFilesPrefix = "Agentic.Core.agent-files/";

    private static readonly Lazy<AgentCatalog> LazyDefault = new(() =>
    {
        var documents = ShippedDocuments.Read(EmbeddedPrefix, "agents/");
        if (documents.Count == 0)
        {
            throw new InvalidOperationException("The shipped agents are not embedded in Agentic.Core.");
        }
        var assembly = typeof(AgentCatalog).Assembly;
        // RecursiveDir in the resource names carries the build machine's separator.
        var files = assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(EmbeddedFilesPrefix, StringComparison.Ordinal))
            .ToDictionary(n => n[EmbeddedFilesPrefix.Length..].Replace('\\', '/'), n => n, StringComparer.Ordinal);
        string? ReadFile(string path)
        {
            if (!files.TryGetValue(path, out var resource))
            {
                return null;
            }
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd();
        }
        return new AgentCatalog(AgentLoader.LoadAll(documents, ReadFile)) { Files = ReadFile };
    });

    private readonly Dictionary<string, AgentDefinition> _agents;

    /// <summary>A catalog over <paramref name="agents"/>.</summary>
    public AgentCatalog(IEnumerable<AgentDefinition> agents)
    {
        _agents = agents.ToDictionary(a => a.Name, StringComparer.Ordinal);
        if (_agents.Values.FirstOrDefault(a => !Autonomy.IsKnown(a.Autonomy)) is { } bad)
        {
            throw new ArgumentException($"Agent '{bad.Name}' has autonomy '{bad.Autonomy}'; known levels: {string.Join(", ", Autonomy.Levels)}.", nameof(agents));
        }
        var problems = new List<string>();
        foreach (var agent in _agents.Values.Where(a => a.Targets is not null))
        {
            for (var i = 0; i < agent.Targets!.Count; i++)
            {
                agent.Targets[i].Validate(string.Create(CultureInfo.InvariantCulture, $"agent '{agent.Name}' Targets:{i}"), problems);
            }
        }
        if (problems.Count > 0)
        {
            throw new ArgumentException("Agent target rules are not valid: " + string.Join(" ", problems), nameof(agents));
        }
    }

    /// <summary>The agents that ship with the product: <c>agents/*.yaml</c>, embedded in the assembly.</summary>
    public static AgentCatalog Default => LazyDefault.Value;

    /// <summary>
    /// The agents in the directory at <paramref name="path"/> (<c>Agentic:Agents:Path</c>), or the shipped agents when
    /// no path is given. Throws <see cref="AgentLoadException"/> with every diagnostic.
    /// </summary>
    public static AgentCatalog Load(string? path) =>
        string.IsNullOrWhiteSpace(path) ? Default : new(AgentLoader.LoadDirectory(path)) { Files = AgentLoader.DirectoryFiles(path) };

    /// <summary>
    /// The files this catalog's agents may name (their data contracts), by path relative to the agents' directory: the
    /// shipped <c>agents/schemas/</c>, or those beside the configured agents. Agents an admin uploads name the same ones,
    /// so an upload uses the deployment's data contracts and can not bring its own. <c>null</c>: none.
    /// </summary>
    public Func<string, string?>? Files { get; init; }

    /// <summary>The agents' names.</summary>
    public IEnumerable<string> Names => _agents.Keys.Order(StringComparer.Ordinal);

    /// <summary>Every agent, by name.</summary>
    public IEnumerable<AgentDefinition> Agents => _agents.Values.OrderBy(a => a.Name, StringComparer.Ordinal);

    /// <summary>Whether an agent called <paramref name="name"/> exists.</summary>
    public bool Contains(string name) => _agents.ContainsKey(name);

    /// <summary>The agent called <paramref name="name"/>.</summary>
    public AgentDefinition Get(string name) =>
        _agents.TryGetValue(name, out var agent) ? agent : throw new KeyNotFoundException($"Unknown agent '{name}'.");

    /// <summary>The agent called <paramref name="name"/>, or <c>null</c>.</summary>
    public AgentDefinition? Find(string name) => _agents.GetValueOrDefault(name);

    /// <inheritdoc />
    public ValueTask<AgentCatalog> GetAsync(CancellationToken cancellationToken) => ValueTask.FromResult(this);

    /// <inheritdoc />
    public ValueTask<AgentDefinition?> ResolveAsync(string name, string? version, string? hash, CancellationToken cancellationToken)
    {
        var agent = Find(name);
        if (version is null || (agent is not null && Matches(agent, version, hash)))
        {
            return ValueTask.FromResult(agent);
        }
        throw new AgentUnavailableException(agent is null
            ? $"Agent {Lifecycle.AgentLifecycle.Name(name, version)} is not offered by this host."
            : $"Agent {Lifecycle.AgentLifecycle.Name(name, version)} ({hash}) is not offered by this host, which offers {Lifecycle.AgentLifecycle.Name(name, agent.Version ?? "-")} ({agent.Hash}).");
    }

    /// <summary>Whether <paramref name="agent"/> is version <paramref name="version"/> with text hash <paramref name="hash"/> (any hash when <c>null</c>).</summary>
    public static bool Matches(AgentDefinition agent, string version, string? hash)
    {
        ArgumentNullException.ThrowIfNull(agent);
        return string.Equals(agent.Version, version, StringComparison.Ordinal) && (hash is null || string.Equals(agent.Hash, hash, StringComparison.Ordinal));
    }

    /// <summary>
    /// Every tool an agent lists that <paramref name="knownTools"/> (the deployment's tool registry) does not have, as a
    /// diagnostic at the list entry. Hosts run it at start (<see cref="AgentCatalogCheck"/>).
    /// </summary>
    public IReadOnlyList<Diagnostic> CheckTools(IEnumerable<string> knownTools) => ToolProblems(Agents, knownTools);

    internal static List<Diagnostic> ToolProblems(IEnumerable<AgentDefinition> agents, IEnumerable<string> knownTools)
    {
        var known = knownTools.ToHashSet(StringComparer.Ordinal);
        var problems = new List<Diagnostic>();
        foreach (var agent in agents)
        {
            foreach (var tool in (agent.ToolReferences ?? []).Where(t => !known.Contains(t.Name)))
            {
                var nearest = PolicySchema.Nearest(tool.Name, known.Order(StringComparer.Ordinal));
                problems.Add(new Diagnostic(tool.File, tool.Line, tool.Column, DiagnosticCodes.UnknownTool, nearest is not null
                    ? $"agent '{agent.Name}' lists tool '{tool.Name}', which the deployment does not have (did you mean '{nearest}'?)"
                    : $"agent '{agent.Name}' lists tool '{tool.Name}', which the deployment does not have"));
            }
        }
        return problems;
    }

    /// <summary>
    /// Every language model agent whose model is not configured or whose prompt template does not exist, as a diagnostic
    /// at its <c>llm</c> section.
    /// </summary>
    public IReadOnlyList<Diagnostic> CheckPlanners(IEnumerable<string> models, Planning.PromptTemplates prompts)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        var known = models.ToHashSet(StringComparer.OrdinalIgnoreCase);
        var problems = new List<Diagnostic>();
        foreach (var agent in Agents.Where(a => a.Llm is not null))
        {
            var llm = agent.Llm!;
            if (!known.Contains(llm.Model))
            {
                problems.Add(new Diagnostic(agent.Source ?? "agents", llm.At.Line, llm.At.Column, DiagnosticCodes.InvalidValue,
                    $"agent '{agent.Name}' plans with model '{llm.Model}', which is not configured (Agentic:Models:{llm.Model}; configured: {(known.Count == 0 ? "none" : string.Join(", ", known.Order(StringComparer.Ordinal)))})"));
            }
            if (!prompts.Contains(llm.Prompt))
            {
                problems.Add(new Diagnostic(agent.Source ?? "agents", llm.At.Line, llm.At.Column, DiagnosticCodes.InvalidValue,
                    $"agent '{agent.Name}' plans with prompt template '{llm.Prompt}', which does not exist (known: {string.Join(", ", prompts.All.Select(p => p.Id).Order(StringComparer.Ordinal))})"));
            }
        }
        return problems;
    }
}

/// <summary>An uploaded agent in the offer: who stored its version and when, who activated it, when and why.</summary>
public sealed record AgentUpload(string SavedBy, DateTimeOffset SavedAt, string ActivatedBy, DateTimeOffset ActivatedAt, string Reason);

/// <summary>
/// How an agent plans with a language model: the configured model (<c>Agentic:Models:{Model}</c>), the prompt template,
/// and the parts of the request it reads as trusted where no signal reads them (<c>request.goal</c>,
/// <c>request.parameters</c>); each signal says for itself whether it is trusted. Any other source taints its plan.
/// </summary>
public sealed record LlmSettings(string Model, string Prompt, IReadOnlyList<string> Trust)
{
    /// <summary>Where the agent's YAML has the section (line, column).</summary>
    public (int Line, int Column) At { get; init; }

    /// <summary>When the planner is asked again (<c>replan</c>): once per run by default, or after each action.</summary>
    public ReplanMode Replan { get; init; } = ReplanMode.None;
}

/// <summary>When a language model planner is asked for another plan (an agent's <c>llm.replan</c>, fixed into each run at its start).</summary>
public enum ReplanMode
{
    /// <summary>
    /// <c>none</c>: one plan, whose steps all run (a model plan names no post-condition, so no failed check asks again).
    /// The model reads the request and the observation only.
    /// </summary>
    None,

    /// <summary>
    /// <c>after-each-action</c>: after each executed step the planner is asked again with what every step did so far, and
    /// answers with the next steps (the first runs, the rest are superseded) or with none, meaning done. Each plan counts
    /// against the run's <c>maxPlans</c>, and every other guard holds as for any plan.
    /// </summary>
    AfterEachAction,
}
