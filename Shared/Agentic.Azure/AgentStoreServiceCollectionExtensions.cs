using Agentic.Core.Agents;
using Agentic.Core.Agents.Lifecycle;
using Azure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Agentic.Azure;

/// <summary>Registers the agent lifecycle: the offer each host refreshes from the agent store, and the start-up bootstrap.</summary>
public static class AgentStoreServiceCollectionExtensions
{
    /// <summary>
    /// Adds validated <see cref="AgentOptions"/>, a <see cref="StoredAgentCatalog"/> over the shipped (or configured)
    /// catalog and the table-backed <see cref="IAgentStore"/> as the <see cref="IAgentCatalogProvider"/> (replacing any
    /// registered before), and <see cref="AgentBootstrapService"/>, which stores the agents this host ships when it
    /// starts. The bootstrap is registered ahead of every hosted service already registered but the agent check, so the
    /// shipped versions are stored before a runner's pumps start. Call it after
    /// <see cref="AgenticAzureServiceCollectionExtensions.AddAgenticAzureStorage"/>. Calling it twice adds nothing.
    /// </summary>
    public static IServiceCollection AddAgenticAgentStore(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<AgentOptions>()
            .Bind(configuration.GetSection(AgentOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new StoredAgentCatalog(
            sp.GetRequiredService<AgentCatalog>(),
            sp.GetRequiredService<IAgentStore>(),
            sp.GetRequiredService<AgentChecks>(),
            sp.GetRequiredService<TimeProvider>(),
            TimeSpan.FromSeconds(sp.GetRequiredService<IOptions<AgentOptions>>().Value.RefreshSeconds),
            sp.GetService<ILogger<StoredAgentCatalog>>()));
        services.RemoveAll<IAgentCatalogProvider>();
        services.AddSingleton<IAgentCatalogProvider>(sp => sp.GetRequiredService<StoredAgentCatalog>());
        if (!services.Any(d => d.ServiceType == typeof(AgentBootstrapService)))
        {
            services.AddSingleton<AgentBootstrapService>();
            var bootstrap = ServiceDescriptor.Singleton<IHostedService>(sp => sp.GetRequiredService<AgentBootstrapService>());
            BootstrapOrder.InsertAfterAgentCheck(services, bootstrap);
        }
        return services;
    }
}

/// <summary>
/// Stores the agents this host ships (or is configured with) when it starts, as <see cref="AgentLifecycle.StartupPrincipal"/>,
/// so every version a deployment ever offered stays in the store and a run admitted under it resolves on any host, after
/// an upgrade too. A version stored before with other text (a shipped file changed without a new version) is logged and
/// kept as stored: this host still offers its own text, and a run admitted with it resolves where that text is shipped.
/// While storage is unreachable it retries every second; the host does not start serving until the versions are stored.
/// </summary>
public sealed class AgentBootstrapService(
    AgentCatalog shipped, IAgentStore store, ILogger<AgentBootstrapService> logger, TableAgentStore? table = null, TableAuditStore? audit = null) : IHostedService
{
    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                foreach (var client in new[] { table?.Table, audit?.Table }.OfType<global::Azure.Data.Tables.TableClient>())
                {
                    await client.CreateIfNotExistsAsync(cancellationToken);
                }
                foreach (var agent in shipped.Agents.Where(a => a.Version is not null && a.Yaml is not null))
                {
                    await StoreAsync(agent, cancellationToken);
                }
                return;
            }
            catch (Exception ex) when (ex is RequestFailedException or HttpRequestException or AggregateException && !cancellationToken.IsCancellationRequested)
            {
                logger.AgentStoreWaiting(ex.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            }
        }
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task StoreAsync(AgentDefinition agent, CancellationToken cancellationToken)
    {
        try
        {
            var saved = await store.SaveAsync(agent.Name, agent.Version!, agent.Yaml!, AgentLifecycle.StartupPrincipal, cancellationToken);
            if (saved.Created)
            {
                logger.ShippedAgentStored(agent.Name, agent.Version!, saved.Version.ContentHash);
            }
        }
        catch (Exception ex) when (ex is AgentConflictException or ArgumentException)
        {
            logger.ShippedAgentNotStored(agent.Name, agent.Version!, ex.Message);
        }
    }
}

internal static partial class AgentStoreLogs
{
    [LoggerMessage(EventId = 310, Level = LogLevel.Information, Message = "Shipped agent {Agent}@{Version} stored ({Hash})")]
    public static partial void ShippedAgentStored(this ILogger logger, string agent, string version, string hash);

    [LoggerMessage(EventId = 311, Level = LogLevel.Warning, Message = "Shipped agent {Agent}@{Version} not stored: {Reason}")]
    public static partial void ShippedAgentNotStored(this ILogger logger, string agent, string version, [Core.Telemetry.SecretData] string reason);

    [LoggerMessage(EventId = 312, Level = LogLevel.Warning, Message = "Agent store not reachable yet ({Error}); retrying.")]
    public static partial void AgentStoreWaiting(this ILogger logger, [Core.Telemetry.SecretData] string error);
}
