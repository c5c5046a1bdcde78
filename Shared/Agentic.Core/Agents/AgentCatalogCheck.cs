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
///     "Path": "agents"   // optional: a directory of agent YAML files (default: the shipped agents)
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
}

/// <summary>
/// Checks the agents when the host starts, before any other hosted service: loading them (a bad agent fails with every
/// diagnostic) and every tool they list against the tool registry. The host does not start with an agent that does not load.
/// </summary>
/// <remarks>
/// The catalog can not check its tools while it loads: the tool registry's target-bound tools are built over the run
/// target rules, which are built over the catalog.
/// </remarks>
public sealed class AgentCatalogCheck(
    AgentCatalog agents,
    ToolRegistry tools,
    ILogger<AgentCatalogCheck>? logger = null,
    Microsoft.Extensions.Options.IOptions<Planning.ModelsOptions>? models = null,
    Planning.PromptTemplates? prompts = null) : IHostedService
{
    private readonly ILogger _logger = (ILogger?)logger ?? NullLogger.Instance;

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var problems = agents.CheckTools(tools.Descriptors.Select(d => d.Name)).ToList();
        var configured = models?.Value.Models.Keys.ToList() ?? [];
        foreach (var problem in agents.CheckPlanners(configured, prompts ?? Planning.PromptTemplates.Load(null)))
        {
            // A deployment with no model at all runs its playbook agents; a model agent's runs fail at planning, saying
            // why. A model name no configured model has is a mistake, and stops the host.
            if (configured.Count == 0 && problem.Message.Contains("which is not configured", StringComparison.Ordinal))
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
