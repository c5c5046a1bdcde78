using Agentic.Azure;
using Agentic.Core;
using Agentic.Core.Runs;
using Agentic.Core.Workflow;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Agentic.Bench.HomeRunner;

// BENCH-ONLY GLUE around the retired home runner (this folder), kept for one side-by-side measurement against the
// Durable Task engine and then deleted with the folder. The runner files are the product's last version with only the
// namespace changed (plus QueuePump, RunRequestListener and the log messages they used, which are internal to
// Agentic.Runtime); this file restores the two pieces of the old Agentic.Runtime that wired them, cut to what the
// bench calls.

/// <summary>The old <c>AgentRuns</c>, submit and read only: a run's id comes from its request, the runner starts it.</summary>
public sealed class AgentRuns(DurableRunner<RunRequest, AgentRunState> runner)
{
    /// <summary>Starts the run, or finds the one an earlier submission with the same idempotency key started.</summary>
    public async Task<(string RunId, bool Created)> SubmitAsync(RunRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var runId = RunIds.For(request);
        var created = await runner.StartAsync(runId, request, cancellationToken);
        return (runId, created);
    }

    /// <summary>The run, or <c>null</c>.</summary>
    public Task<RunRecord<AgentRunState>?> GetAsync(string runId, CancellationToken cancellationToken) => runner.GetAsync(runId, cancellationToken);
}

/// <summary>The old <c>AddAgenticLocalRuntime</c>, as it was before the engine replaced the runner.</summary>
public static class HomeRunnerServiceCollectionExtensions
{
    /// <summary>The agent domain, storage, validated <see cref="RunnerOptions"/>, the runner and its background service.</summary>
    public static IServiceCollection AddHomeRunner(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
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
