using Agentic.Core.Governance;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Agentic.Azure;

/// <summary>Registers the storage layer both hosts share.</summary>
public static class AgenticAzureServiceCollectionExtensions
{
    /// <summary>
    /// Adds validated <see cref="AgenticStorageOptions"/>, the storage clients, the payload store, and the
    /// table-backed <see cref="IDecisionStore"/>, <see cref="IActionLedger"/> and <see cref="IControlStore"/>.
    /// </summary>
    public static IServiceCollection AddAgenticAzureStorage(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<AgenticStorageOptions>()
            .Bind(configuration.GetSection(AgenticStorageOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<StorageClients>();
        services.TryAddSingleton<PayloadStore>();
        services.TryAddSingleton<TableGovernanceStore>();
        services.TryAddSingleton<IDecisionStore>(sp => sp.GetRequiredService<TableGovernanceStore>());
        services.TryAddSingleton<IActionLedger>(sp => sp.GetRequiredService<TableGovernanceStore>());
        services.TryAddSingleton<TableControlStore>();
        services.TryAddSingleton<IControlStore>(sp => sp.GetRequiredService<TableControlStore>());
        return services;
    }
}
