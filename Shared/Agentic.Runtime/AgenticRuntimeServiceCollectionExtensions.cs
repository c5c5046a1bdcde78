using Agentic.Azure;
using Agentic.Core;
using Agentic.Core.Runs;
using Agentic.Core.Workflow;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Agentic.Runtime;

/// <summary>Registers the local runtime: the agent domain, storage, the durable runner and its background service.</summary>
public static class AgenticRuntimeServiceCollectionExtensions
{
    /// <summary>
    /// Adds everything the local host needs except the HTTP endpoints (see <see cref="Http.RunsApi"/>):
    /// <see cref="AgenticCoreServiceCollectionExtensions.AddAgenticCore"/>, the storage layer, validated
    /// <see cref="RunnerOptions"/>, the runner for the agent workflow, and its background service.
    /// </summary>
    public static IServiceCollection AddAgenticLocalRuntime(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddAgenticCore(configuration["Agentic:Policy:Path"]);
        services.AddAgenticAzureStorage(configuration);
        services.AddOptions<RunnerOptions>()
            .Bind(configuration.GetSection(RunnerOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<IDecider<RunRequest, AgentRunState>>(sp => sp.GetRequiredService<AgentWorkflow>());
        services.AddSingleton<DurableRunner<RunRequest, AgentRunState>>();
        services.AddSingleton<ActivityWorker<RunRequest, AgentRunState>>();
        services.AddSingleton<AgentRuns>();
        services.AddSingleton<RunRequestListener>();
        services.AddSingleton<RunnerService<RunRequest, AgentRunState>>();
        services.AddHostedService(sp => sp.GetRequiredService<RunnerService<RunRequest, AgentRunState>>());
        return services;
    }
}
