using Agentic.Azure;
using Azure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Agentic.Functions;

// Creates the tables this host writes when infra did not (func start against Azurite, an account made by hand): the ledger
// (decisions, approvals, idempotency; without it every gate call fails closed), the controls, the MCP pins, the monitors, the
// policies, the agents and the planning drift. The local
// runner does the same in RunnerService. While storage is unreachable it retries every second and the host does not start.
public sealed class StorageTablesService(
    TableGovernanceStore ledger, TableControlStore controls, TablePolicyStore policies, TableAgentStore agents, TableMcpPinStore pins, TableMonitorStore monitors,
    TableAuditStore audit, TableDriftStore drift, BlobCheckpointStore checkpoints, ILogger<StorageTablesService> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                await ledger.Table.CreateIfNotExistsAsync(cancellationToken);
                await controls.Table.CreateIfNotExistsAsync(cancellationToken);
                await policies.Table.CreateIfNotExistsAsync(cancellationToken);
                await agents.Table.CreateIfNotExistsAsync(cancellationToken);
                await pins.Table.CreateIfNotExistsAsync(cancellationToken);
                await monitors.Table.CreateIfNotExistsAsync(cancellationToken);
                await audit.Table.CreateIfNotExistsAsync(cancellationToken);
                await drift.Table.CreateIfNotExistsAsync(cancellationToken);
                await checkpoints.Container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
                return;
            }
            catch (Exception ex) when (ex is RequestFailedException or HttpRequestException or AggregateException && !cancellationToken.IsCancellationRequested)
            {
                logger.StorageWaiting(ex.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

public static class StorageTablesServiceCollectionExtensions
{
    // Hosted services start one after another in registration order, and it is the worker's own (registered by
    // FunctionsApplication.CreateBuilder) that starts taking invocations: so the tables go ahead of every hosted service
    // registered so far, and no trigger runs before they exist. Called after AddAgenticPolicyStore, this also puts them ahead
    // of the policy bootstrap, which then finds its table already made.
    public static IServiceCollection AddAgenticStorageTables(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (services.Any(d => d.ServiceType == typeof(StorageTablesService)))
        {
            return services;
        }
        services.AddSingleton<StorageTablesService>();
        var tables = ServiceDescriptor.Singleton<IHostedService>(sp => sp.GetRequiredService<StorageTablesService>());
        var first = services.ToList().FindIndex(d => d.ServiceType == typeof(IHostedService));
        services.Insert(first < 0 ? services.Count : first, tables);
        return services;
    }
}
