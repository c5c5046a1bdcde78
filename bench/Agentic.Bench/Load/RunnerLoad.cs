using System.Diagnostics;
using System.Globalization;
using Agentic.Bench.Simulation;
using Agentic.Core.Workflow;
using Agentic.Runtime;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Agentic.Bench.Load;

/// <summary>A finished run as the load driver reads it back after the clock stopped.</summary>
internal sealed record FinishedRun(string RunId, RunStatus Status, AgentRunState State);

/// <summary>
/// The real local runtime in this process (<see cref="AgenticRuntimeServiceCollectionExtensions.AddAgenticLocalRuntime"/>
/// on a generic host), against Azurite with a fresh hub, driven through <see cref="AgentRuns"/>.
/// </summary>
internal sealed class RunnerLoad : IAsyncDisposable
{
    private readonly IHost _host;
    private readonly RunEndedListener _ended;
    private readonly AgentRuns _runs;

    private RunnerLoad(IHost host, RunEndedListener ended)
    {
        _host = host;
        _ended = ended;
        _runs = host.Services.GetRequiredService<AgentRuns>();
    }

    /// <summary>The runner settings the driver applies, for the report.</summary>
    public static IReadOnlyDictionary<string, string?> Settings(LoadOptions options, string connectionString, string hub)
    {
        ArgumentNullException.ThrowIfNull(options);
        string S(int value) => value.ToString(CultureInfo.InvariantCulture);
        return new Dictionary<string, string?>
        {
            ["AgenticStorage"] = connectionString,
            ["Agentic:HubName"] = hub,
            ["Agentic:Runner:MaxConcurrentActivities"] = S(options.Activities),
            ["Agentic:Runner:MaxConcurrentEvents"] = S(options.Events),
            ["Agentic:Runner:MaxPollMilliseconds"] = S(options.PollMilliseconds),
            ["Agentic:Runner:WorkLeaseSeconds"] = S(options.LeaseSeconds),
            ["Agentic:Runner:ControlLeaseSeconds"] = S(options.LeaseSeconds),
        };
    }

    /// <summary>Builds and starts the runtime; returns once its storage is provisioned and its pumps run.</summary>
    public static async Task<RunnerLoad> StartAsync(IReadOnlyDictionary<string, string?> settings, CancellationToken cancellationToken)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        var ended = new RunEndedListener();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Logging.AddProvider(ended);
        // The category of ILogger<DurableRunner<,>>: generic arguments are left out of category names.
        builder.Logging.AddFilter<RunEndedListener>("Agentic.Runtime.DurableRunner", LogLevel.Information);
        builder.Services.AddAgenticLocalRuntime(builder.Configuration);
        var host = builder.Build();
        await host.StartAsync(cancellationToken);
        await host.Services.GetRequiredService<RunnerService<Core.Runs.RunRequest, AgentRunState>>().Ready.WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);
        return new RunnerLoad(host, ended);
    }

    /// <summary>Warnings and errors the runtime logged so far.</summary>
    public IReadOnlyDictionary<string, int> Problems => _ended.Problems;

    /// <summary>
    /// Submits one run per target, at most <paramref name="inFlight"/> running at once, and waits until all
    /// ended. Returns the run ids in submission order.
    /// </summary>
    public async Task<IReadOnlyList<string>> RunAsync(IReadOnlyList<string> targets, int probes, int inFlight, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(targets);
        using var slots = new SemaphoreSlim(inFlight, inFlight);
        return await Task.WhenAll(targets.Select(async target =>
        {
            await slots.WaitAsync(cancellationToken);
            try
            {
                var (runId, _) = await _runs.SubmitAsync(DiagnosticsRun.Request(target, probes), cancellationToken);
                await _ended.EndedAsync(runId).WaitAsync(cancellationToken);
                return runId;
            }
            finally
            {
                slots.Release();
            }
        }));
    }

    /// <summary>Reads the runs back (after timing: these reads are not part of the measurement).</summary>
    public async Task<IReadOnlyList<FinishedRun>> ReadAsync(IReadOnlyList<string> runIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(runIds);
        var runs = new List<FinishedRun>();
        foreach (var chunk in runIds.Chunk(32))
        {
            var records = await Task.WhenAll(chunk.Select(id => _runs.GetAsync(id, cancellationToken)));
            runs.AddRange(records.Select((r, i) => r is null
                ? throw new InvalidOperationException($"Run {chunk[i]} is missing.")
                : new FinishedRun(r.RunId, r.Status, r.State)));
        }
        return runs;
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _host.StopAsync(stop.Token);
        _host.Dispose();
    }

    /// <summary>Times <paramref name="work"/>.</summary>
    public static async Task<(T Result, TimeSpan Elapsed)> TimeAsync<T>(Func<Task<T>> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        var watch = Stopwatch.StartNew();
        var result = await work();
        return (result, watch.Elapsed);
    }
}
