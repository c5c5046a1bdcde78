using Agentic.Core.Policy.Language;
using Agentic.Core.Tools;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Agentic.Core.Agents;

/// <summary>
/// Where the deployment's agents come from. Bound from the <c>Agentic:Agents</c> section:
/// <code>
/// "Agentic": {
///   "Agents": {
///     "Path": "agents",     // optional: a directory of agent YAML files (default: the shipped agents)
///     "RefreshSeconds": 2   // how stale a host's view of the uploaded agents may be (0: read on every admission)
///   }
/// }
/// </code>
/// </summary>
public sealed class AgentOptions
{
    /// <summary>The configuration section name.</summary>
    public const string Section = "Agentic:Agents";

    /// <summary>A directory of agent YAML documents (<c>*.yaml</c>) offered instead of the shipped agents.</summary>
    public string? Path { get; set; }

    /// <summary>A host re-reads which uploaded agents are active at most this often, in seconds (0: on every read).</summary>
    [System.ComponentModel.DataAnnotations.Range(0, 300, ErrorMessage = "Agentic:Agents:RefreshSeconds must be 0 to 300.")]
    public double RefreshSeconds { get; set; } = 2;
}

/// <summary>
/// The checks an agent must pass against this deployment before it is offered, beyond loading: every tool it lists is in
/// the tool registry, and a language model agent's model is configured and its prompt template exists. The start-up
/// check runs them over the shipped agents; an upload and an activation over the uploaded one.
/// </summary>
public sealed class AgentChecks(ToolRegistry tools, Microsoft.Extensions.Options.IOptions<Planning.ModelsOptions>? models = null, Planning.PromptTemplates? prompts = null)
{
    private readonly Planning.PromptTemplates _prompts = prompts ?? Planning.PromptTemplates.Load(null);

    /// <summary>The names of the configured language models.</summary>
    public IReadOnlyList<string> Models { get; } = models?.Value.Models.Keys.ToList() ?? [];

    /// <summary>Every problem of <paramref name="agents"/> against the deployment, each at its place in the agent's YAML.</summary>
    public IReadOnlyList<Diagnostic> Check(IEnumerable<AgentDefinition> agents)
    {
        var list = agents.ToList();
        return [.. AgentCatalog.ToolProblems(list, tools.Descriptors.Select(d => d.Name)), .. new AgentCatalog(list).CheckPlanners(Models, _prompts)];
    }

    /// <summary>Whether <paramref name="problem"/> only says that no model is configured at all, which a host tolerates in the agents it ships.</summary>
    public bool IsNoModelAtAll(Diagnostic problem)
    {
        ArgumentNullException.ThrowIfNull(problem);
        return Models.Count == 0 && problem.Message.Contains("which is not configured", StringComparison.Ordinal);
    }
}

/// <summary>
/// Checks the agents when the host starts, before any other hosted service: loading them (a bad agent fails with every
/// diagnostic) and every tool they list against the tool registry. The host does not start with an agent that does not load.
/// </summary>
/// <remarks>
/// The catalog can not check its tools while it loads: the tool registry's target-bound tools are built over the run
/// target rules, which every agent's narrowing applies to.
/// </remarks>
public sealed class AgentCatalogCheck(AgentCatalog agents, AgentChecks checks, ILogger<AgentCatalogCheck>? logger = null) : IHostedService
{
    private readonly ILogger _logger = (ILogger?)logger ?? NullLogger.Instance;

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var problems = new List<Diagnostic>();
        foreach (var problem in checks.Check(agents.Agents))
        {
            // A deployment with no model at all runs its playbook agents; a model agent's runs fail at planning, saying
            // why. A model name no configured model has is a mistake, and stops the host.
            if (checks.IsNoModelAtAll(problem))
            {
                AgentLogs.ModelMissing(_logger, problem.Message);
                continue;
            }
            problems.Add(problem);
        }
        if (problems.Count > 0)
        {
            throw new AgentLoadException(problems);
        }
        foreach (var agent in agents.Agents)
        {
            AgentLogs.Offered(_logger, agent.Name, agent.Version ?? "-", agent.Hash ?? "-", agent.Source ?? "code");
        }
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

internal static partial class AgentLogs
{
    [LoggerMessage(EventId = 45, Level = LogLevel.Information, Message = "Agent {Agent}@{Version} offered ({Hash}, from {Source})")]
    public static partial void Offered(ILogger logger, string agent, string version, string hash, string source);

    [LoggerMessage(EventId = 46, Level = LogLevel.Warning, Message = "{Problem}: its runs fail at planning until a model is configured")]
    public static partial void ModelMissing(ILogger logger, string problem);
}
