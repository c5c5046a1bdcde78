using Agentic.Core.Activities;
using Agentic.Core.Agents;
using Agentic.Core.Policy;
using Agentic.Core.Tools;
using Agentic.Core.Workflow;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Agentic.Core;

/// <summary>Registers the agent domain: workflow, agents, tools, policy and activities. Both hosts call this.</summary>
public static class AgenticCoreServiceCollectionExtensions
{
    /// <summary>
    /// Adds the workflow, the agent catalog, the tool registry, the baseline policy and the four
    /// activities. Stores (<see cref="Governance.IDecisionStore"/>, <see cref="Governance.IActionLedger"/>)
    /// come from the storage layer.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="policyPath">A YAML policy file (<c>Agentic:Policy:Path</c>); the shipped baseline when absent.</param>
    public static IServiceCollection AddAgenticCore(this IServiceCollection services, string? policyPath = null)
    {
        services.AddHttpClient(HttpServiceTool.HttpClientName, c => c.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(2) });
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(new AgentWorkflowOptions());
        services.TryAddSingleton(sp => new AgentWorkflow(sp.GetRequiredService<AgentWorkflowOptions>()));
        services.TryAddSingleton(AgentCatalog.Default);
        services.TryAddSingleton<IPolicy>(sp => new DeclarativePolicy(ShippedPolicies.Load(policyPath), sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(sp => new ToolRegistry(SampleServiceTools.Create(sp.GetRequiredService<IHttpClientFactory>())));
        services.AddSingleton<IActivity, PerceiveActivity>();
        services.AddSingleton<IActivity, PlanActivity>();
        services.AddSingleton<IActivity, GateActivity>();
        services.AddSingleton<IActivity, ActActivity>();
        services.TryAddSingleton<ActivityRegistry>();
        return services;
    }
}
