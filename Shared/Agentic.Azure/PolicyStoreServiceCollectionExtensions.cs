using System.ComponentModel.DataAnnotations;
using Agentic.Core.Policy;
using Agentic.Core.Policy.Lifecycle;
using Azure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Agentic.Azure;

/// <summary>
/// The gate's policy, from the policy store. Bound from the <c>Agentic:Policy</c> section:
/// <code>
/// "Agentic": {
///   "Policy": {
///     "Path": "policies/strict.yaml",   // optional: the policy to put in force at start (default: the shipped baseline)
///     "RefreshSeconds": 2                // how stale the gate's view of the active policies may be (0: read on every gate call)
///   }
/// }
/// </code>
/// </summary>
public sealed class AgenticPolicyOptions
{
    /// <summary>The configuration section name.</summary>
    public const string Section = "Agentic:Policy";

    /// <summary>A YAML policy file to put in force at start; the shipped baseline when absent.</summary>
    public string? Path { get; set; }

    /// <summary>The gate re-reads the active policies at most this often, in seconds (0: on every call).</summary>
    [Range(0, 300, ErrorMessage = "Agentic:Policy:RefreshSeconds must be 0 to 300.")]
    public double RefreshSeconds { get; set; } = 2;
}

/// <summary>Registers the policy lifecycle: the stored policies behind the gate, and the start-up bootstrap.</summary>
public static class PolicyStoreServiceCollectionExtensions
{
    /// <summary>
    /// Adds the table-backed <see cref="IPolicyStore"/> and <see cref="IDecisionLog"/>, validated
    /// <see cref="AgenticPolicyOptions"/>, a <see cref="StoredPolicyProvider"/> as the <see cref="IPolicyProvider"/>
    /// (replacing any registered before), and <see cref="PolicyBootstrapService"/>, which stores and activates the
    /// configured policy when the host starts. The bootstrap is registered ahead of every hosted service already
    /// registered but the agent check, so it has finished before a runner's pumps start, whichever order the host calls the extensions in.
    /// Call it after <see cref="AgenticAzureServiceCollectionExtensions.AddAgenticAzureStorage"/>. Calling it twice adds nothing.
    /// </summary>
    public static IServiceCollection AddAgenticPolicyStore(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<AgenticPolicyOptions>()
            .Bind(configuration.GetSection(AgenticPolicyOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<TablePolicyStore>();
        services.TryAddSingleton<IPolicyStore>(sp => new Agentic.Core.Audit.AuditedPolicyStore(sp.GetRequiredService<TablePolicyStore>(), sp.GetRequiredService<Agentic.Core.Audit.AuditLog>(), sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<TableDecisionLog>();
        services.TryAddSingleton<IDecisionLog>(sp => sp.GetRequiredService<TableDecisionLog>());
        services.TryAddSingleton(sp => new StoredPolicyProvider(
            sp.GetRequiredService<IPolicyStore>(),
            sp.GetRequiredService<TimeProvider>(),
            TimeSpan.FromSeconds(sp.GetRequiredService<IOptions<AgenticPolicyOptions>>().Value.RefreshSeconds)));
        services.RemoveAll<IPolicyProvider>();
        services.AddSingleton<IPolicyProvider>(sp => sp.GetRequiredService<StoredPolicyProvider>());
        if (!services.Any(d => d.ServiceType == typeof(PolicyBootstrapService)))
        {
            services.AddSingleton<PolicyBootstrapService>();
            var bootstrap = ServiceDescriptor.Singleton<IHostedService>(sp => sp.GetRequiredService<PolicyBootstrapService>());
            BootstrapOrder.InsertAfterAgentCheck(services, bootstrap);
        }
        return services;
    }
}

/// <summary>
/// Runs the <see cref="PolicyBootstrap"/> when the host starts, before any other hosted service: loads the configured
/// policy (a policy that does not load stops the host, naming every problem), creates the policy and audit tables (an
/// activation is appended to the audit's control chain), then stores and activates the policy as
/// <see cref="PolicyBootstrap"/> describes. While storage is unreachable it retries every
/// second; the host does not start serving until the policy is in force.
/// </summary>
public sealed class PolicyBootstrapService(
    IPolicyStore store, IOptions<AgenticPolicyOptions> options, ILogger<PolicyBootstrapService> logger, TablePolicyStore? table = null, TableAuditStore? audit = null) : IHostedService
{
    private readonly TaskCompletionSource<IReadOnlyList<BootstrapActivation>> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes with what the bootstrap activated once the configured policy is in force.</summary>
    public Task<IReadOnlyList<BootstrapActivation>> Completed => _done.Task;

    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var configured = PolicyBootstrap.Load(options.Value.Path);
        var bootstrap = new PolicyBootstrap(store);
        while (true)
        {
            try
            {
                foreach (var client in new[] { table?.Table, audit?.Table }.OfType<global::Azure.Data.Tables.TableClient>())
                {
                    await client.CreateIfNotExistsAsync(cancellationToken);
                }
                var steps = await bootstrap.RunAsync(configured, cancellationToken);
                foreach (var step in steps)
                {
                    logger.PolicyActivated(step.Policy.Policy.Id, step.Policy.Policy.Version, step.Mode, step.Reason);
                }
                if (steps.Count == 0)
                {
                    logger.PolicyKept(configured.Policy.Id, configured.Policy.Version);
                }
                _done.TrySetResult(steps);
                return;
            }
            catch (Exception ex) when (ex is RequestFailedException or HttpRequestException or AggregateException && !cancellationToken.IsCancellationRequested)
            {
                logger.PolicyStoreWaiting(ex.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            }
        }
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

internal static partial class PolicyLogs
{
    [LoggerMessage(EventId = 300, Level = LogLevel.Information, Message = "Policy {PolicyId}@{PolicyVersion} activated ({Mode}) at start: {Reason}")]
    public static partial void PolicyActivated(this ILogger logger, string policyId, string policyVersion, Core.Policy.Language.PolicyMode mode, string reason);

    [LoggerMessage(EventId = 301, Level = LogLevel.Information, Message = "Policies in force kept at start (configured: {PolicyId}@{PolicyVersion}).")]
    public static partial void PolicyKept(this ILogger logger, string policyId, string policyVersion);

    [LoggerMessage(EventId = 302, Level = LogLevel.Warning, Message = "Policy store not reachable yet ({Error}); retrying.")]
    public static partial void PolicyStoreWaiting(this ILogger logger, string error);
}
