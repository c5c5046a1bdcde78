using Agentic.Core.Audit;
using Agentic.Core.Governance;
using Agentic.Core.Secrets;
using Agentic.Core.Tools;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Agentic.Azure;

/// <summary>Registers the storage layer both hosts share.</summary>
public static class AgenticAzureServiceCollectionExtensions
{
    /// <summary>
    /// Adds validated <see cref="AgenticStorageOptions"/>, the storage clients, the
    /// table-backed <see cref="IDecisionStore"/>, <see cref="IActionLedger"/> and <see cref="IControlStore"/>, and the
    /// storage signals perception reads (<see cref="StorageSignals"/>).
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
        services.TryAddSingleton<TableGovernanceStore>();
        services.TryAddSingleton<IDecisionStore>(sp => sp.GetRequiredService<TableGovernanceStore>());
        services.TryAddSingleton<IActionLedger>(sp => sp.GetRequiredService<TableGovernanceStore>());
        services.TryAddSingleton<IRunStateStore>(sp => sp.GetRequiredService<TableGovernanceStore>());
        services.TryAddSingleton<TableControlStore>();
        // Every engage and release is appended to the audit's control chain.
        services.TryAddSingleton<IControlStore>(sp => new AuditedControlStore(sp.GetRequiredService<TableControlStore>(), sp.GetRequiredService<AuditLog>(), sp.GetRequiredService<TimeProvider>()));
        // MCP tool pins; every pin is appended to the audit's control chain.
        services.TryAddSingleton<TableMcpPinStore>();
        services.TryAddSingleton<Agentic.Core.Tools.Mcp.IMcpPinStore>(sp => new Agentic.Core.Tools.Mcp.AuditedMcpPinStore(sp.GetRequiredService<TableMcpPinStore>(), sp.GetRequiredService<AuditLog>(), sp.GetRequiredService<TimeProvider>()));
        // Policy versions, the active set and the decisions across runs (the policy API and `agentic policy simulate`).
        services.TryAddSingleton<TablePolicyStore>();
        services.TryAddSingleton<Agentic.Core.Policy.Lifecycle.IPolicyStore>(sp => new AuditedPolicyStore(sp.GetRequiredService<TablePolicyStore>(), sp.GetRequiredService<AuditLog>(), sp.GetRequiredService<TimeProvider>()));
        // Agent versions and the uploaded agents in the offer (the agents API); every change is appended to the control chain.
        services.TryAddSingleton<TableAgentStore>();
        services.TryAddSingleton<Agentic.Core.Agents.Lifecycle.IAgentStore>(sp => new AuditedAgentStore(sp.GetRequiredService<TableAgentStore>(), sp.GetRequiredService<AuditLog>(), sp.GetRequiredService<TimeProvider>()));
        // The audit trail: chains in a table, signed checkpoints in append blobs, a checkpoint on an interval.
        services.TryAddSingleton<TableAuditStore>();
        services.TryAddSingleton<IAuditStore>(sp => sp.GetRequiredService<TableAuditStore>());
        services.TryAddSingleton<BlobCheckpointStore>();
        services.TryAddSingleton<ICheckpointStore>(sp => sp.GetRequiredService<BlobCheckpointStore>());
        services.AddHostedService<AuditCheckpointService>();
        // Planning drift per agent (GET /api/agents/{name}/drift), written by the plan, gate and conclude activities.
        services.TryAddSingleton<TableDriftStore>();
        services.TryAddSingleton<Agentic.Core.Planning.IDriftStore>(sp => sp.GetRequiredService<TableDriftStore>());
        // The queue-depth and table-count signals perception reads, on this account only.
        services.TryAddSingleton<Agentic.Core.Agents.IStorageSignals>(sp => new StorageSignals(sp.GetRequiredService<StorageClients>()));
        // Monitors' state, ticks and incidents.
        services.TryAddSingleton<TableMonitorStore>();
        services.TryAddSingleton<Agentic.Core.Monitors.IMonitorStore>(sp => sp.GetRequiredService<TableMonitorStore>());
        services.TryAddSingleton<TableDecisionLog>();
        services.TryAddSingleton<Agentic.Core.Policy.Lifecycle.IDecisionLog>(sp => sp.GetRequiredService<TableDecisionLog>());
        AddToolsAndSecrets(services, configuration);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Agentic.Core.Planning.IChatModelProvider>(new AzureOpenAIChatModelProvider(configuration[KeyVaultSecretProvider.ClientIdSetting])));
        return services;
    }

    // queue.send (writes to this account's queues listed in Agentic:Queues:Allow) and, when Agentic:KeyVault:Uri is set,
    // Key Vault as the secret provider in place of the configuration provider the core registers by default.
    private static void AddToolsAndSecrets(IServiceCollection services, IConfiguration configuration)
    {
        services.AddAgenticTools("azure", sp => [QueueSendTool.FromConfiguration(sp.GetRequiredService<StorageClients>(), configuration)]);
        if (configuration[KeyVaultSecretProvider.UriSetting] is not { Length: > 0 } vault)
        {
            return;
        }
        if (!Uri.TryCreate(vault, UriKind.Absolute, out var vaultUri) || vaultUri.Scheme != Uri.UriSchemeHttps)
        {
            throw new InvalidOperationException($"{KeyVaultSecretProvider.UriSetting} must be the vault's https URI (https://<name>.vault.azure.net/), not '{vault}'.");
        }
        // A provider the host registered itself stays; only the core's default gives way.
        var registered = services.Where(d => d.ServiceType == typeof(ISecretProvider)).ToList();
        if (registered.All(IsConfigurationProvider))
        {
            foreach (var descriptor in registered)
            {
                services.Remove(descriptor);
            }
            services.AddSingleton<ISecretProvider>(sp => new KeyVaultSecretProvider(vaultUri, configuration[KeyVaultSecretProvider.ClientIdSetting], sp.GetRequiredService<TimeProvider>()));
        }
    }

    private static bool IsConfigurationProvider(ServiceDescriptor descriptor) =>
        descriptor.ImplementationType == typeof(ConfigurationSecretProvider)
        || descriptor.ImplementationInstance is ConfigurationSecretProvider
        || descriptor.ImplementationFactory?.Method.ReturnType == typeof(ConfigurationSecretProvider);
}
