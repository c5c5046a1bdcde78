using Agentic.Azure;
using Agentic.Core;
using Agentic.Durable;
using Agentic.Runtime.Engine;
using global::DurableTask.AzureStorage;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Converters;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Agentic.Runtime;

/// <summary>Registers the local runtime: the agent domain, storage, the Durable Task engine and its background service.</summary>
public static class AgenticRuntimeServiceCollectionExtensions
{
    /// <summary>
    /// Adds everything the local host needs except the HTTP endpoints (see <see cref="Http.RunsApi"/>):
    /// <see cref="AgenticCoreServiceCollectionExtensions.AddAgenticCore"/>, the storage layer, the workflow on the engine
    /// (<see cref="AgenticDurableServiceCollectionExtensions.AddAgenticWorkflow"/>), validated <see cref="EngineOptions"/>,
    /// the engine on the configured storage account with its client, the run client, and the engine's background services
    /// (the engine, retention, the monitors' timer).
    /// </summary>
    public static IServiceCollection AddAgenticLocalRuntime(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddAgenticCore(configuration["Agentic:Policy:Path"]);
        services.AddAgenticAzureStorage(configuration);
        services.AddAgenticWorkflow();
        services.AddOptions<EngineOptions>()
            .Bind(configuration.GetSection(EngineOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton(sp => new AzureStorageOrchestrationService(EngineService.Settings(
            sp.GetRequiredService<StorageClients>(), sp.GetRequiredService<IOptions<EngineOptions>>().Value, sp.GetRequiredService<ILoggerFactory>())));
        services.AddSingleton<DurableTaskClient>(sp => new EngineClient(sp.GetRequiredService<AzureStorageOrchestrationService>(), JsonDataConverter.Default));
        services.AddSingleton<AgentRunClient>();
        services.AddSingleton<RunRequestListener>();
        services.AddSingleton<EngineService>();
        services.AddHostedService(sp => sp.GetRequiredService<EngineService>());
        services.AddHostedService<RetentionService>();
        // The monitors' timer: each enabled monitor ticks on its own schedule.
        services.AddHostedService<MonitorService>();
        return services;
    }
}
