using System.Diagnostics;
using System.Globalization;
using Agentic.Azure;
using Agentic.Core.Telemetry;
using Agentic.Core.Tools.Builtin;
using Agentic.Durable;
using Agentic.Runtime.Engine;
using Agentic.Testing;
using DurableTask.AzureStorage;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Agentic.Runtime.Tests.Infrastructure;

/// <summary>
/// The local runtime in this process (the Durable Task engine with the shared orchestrator and activities, the run
/// client, the run-request listener) on one hub of the shared Azurite, built the way the `agentic` host builds it. Its log is kept in memory for failure messages.
/// </summary>
internal sealed class LocalRuntime : IAsyncDisposable
{
    private readonly IHost _host;
    private readonly MemoryLog _log;
    private bool _started;
    private bool _stopped;

    private LocalRuntime(IHost host, string hub, MemoryLog log, LoopbackOnlyNetwork network)
    {
        _host = host;
        _log = log;
        Hub = hub;
        Network = network;
    }

    /// <summary>What perception and the tools resolved and connected to: only loopback is ever reached.</summary>
    public LoopbackOnlyNetwork Network { get; }

    /// <summary>The hub (prefix of the tables and queues) this runtime works on.</summary>
    public string Hub { get; }

    public IServiceProvider Services => _host.Services;

    public AgentRunClient Runs => Services.GetRequiredService<AgentRunClient>();

    /// <summary>The engine's client (instances, history, events), as Durable Functions' management API sees the hub.</summary>
    public DurableTaskClient Engine => Services.GetRequiredService<DurableTaskClient>();

    /// <summary>The engine's storage service (task hub queues and tables).</summary>
    public AzureStorageOrchestrationService Orchestration => Services.GetRequiredService<AzureStorageOrchestrationService>();

    public TableGovernanceStore Governance => Services.GetRequiredService<TableGovernanceStore>();

    public StorageClients Storage => Services.GetRequiredService<StorageClients>();


    /// <summary>The last lines this runtime logged.</summary>
    public string LogTail(int lines = 40) => _log.Tail(lines);

    /// <summary>
    /// Builds a runtime of a dev deployment with fast engine settings (2 partitions, 100 ms polls, 15 s leases, 30 s and 20 s
    /// visibility timeouts, so a stopped or killed runtime's work moves on within a test's patience); <paramref name="settings"/> override them (a
    /// <c>null</c> value removes one) and <paramref name="services"/> registers replacements before the runtime's own
    /// (which are TryAdd). Perception and the tools resolve and connect through a <see cref="LoopbackOnlyNetwork"/>.
    /// </summary>
    public static LocalRuntime Create(Azurite azurite, string hub, IReadOnlyDictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null)
    {
        var values = new Dictionary<string, string?>
        {
            ["AgenticStorage"] = azurite.ConnectionString,
            ["Agentic:HubName"] = hub,
            ["Agentic:Environment"] = "dev",
            ["Agentic:Engine:PartitionCount"] = "2",
            ["Agentic:Engine:MaxPollMilliseconds"] = "100",
            ["Agentic:Engine:LeaseSeconds"] = "15",
            ["Agentic:Engine:ControlVisibilitySeconds"] = "30",
            ["Agentic:Engine:WorkItemVisibilitySeconds"] = "20",
            ["Agentic:Engine:ShutdownGraceSeconds"] = "5",
            ["Agentic:Secrets:audit-signing-key"] = TestIdentities.AuditSigningKey,
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                values.Remove(key);
            }
            else
            {
                values[key] = value;
            }
        }
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(values);
        var log = new MemoryLog();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(log);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddFilter("Agentic", LogLevel.Information);
        var network = new LoopbackOnlyNetwork();
        builder.Services.AddSingleton(new EgressClient(network.ResolveAsync, network.ConnectAsync));
        services?.Invoke(builder.Services);
        builder.Services.AddAgenticLocalRuntime(builder.Configuration);
        // As the host: traces and metrics (exported only where a test adds an exporter) and the log redaction, without
        // which a [SecretData] value is left out of the line altogether.
        builder.Services.AddAgenticTelemetry(builder.Configuration, TelemetryHost.Local);
        return new LocalRuntime(builder.Build(), hub, log, network);
    }

    /// <summary>Builds and starts a runtime; returns once its tables and queues exist and its pumps run.</summary>
    public static async Task<LocalRuntime> StartAsync(Azurite azurite, string hub, IReadOnlyDictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null)
    {
        var runtime = Create(azurite, hub, settings, services);
        try
        {
            await runtime.StartAsync();
            return runtime;
        }
        catch
        {
            await runtime.DisposeAsync();
            throw;
        }
    }

    public async Task StartAsync()
    {
        _started = true;
        try
        {
            await _host.StartAsync(TestContext.Current.CancellationToken);
        }
        catch (Microsoft.Extensions.Options.OptionsValidationException)
        {
            // Settings are validated before anything starts: there is nothing to stop.
            _started = false;
            throw;
        }
        var ready = Services.GetRequiredService<EngineService>().Ready;
        await ready.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
    }

    /// <summary>Stops the host gracefully (what SIGTERM does to `agentic up`): the engine stops taking work and finishes what it holds.</summary>
    public async Task StopAsync()
    {
        if (_started && !_stopped)
        {
            _stopped = true;
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await _host.StopAsync(timeout.Token);
        }
    }

    /// <summary>Polls the run until <paramref name="condition"/> holds; fails with the run's log and this runtime's log otherwise.</summary>
    public async Task<AgentRun> WaitForAsync(string runId, Func<AgentRun, bool> condition, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(60);
        var until = DateTime.UtcNow + limit;
        AgentRun? run = null;
        while (DateTime.UtcNow < until)
        {
            run = await Runs.GetAsync(runId, TestContext.Current.CancellationToken);
            if (run is not null && condition(run))
            {
                return run;
            }
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
        Assert.Fail($"Run {runId} was not {what} within {limit.TotalSeconds.ToString("0", CultureInfo.InvariantCulture)} s.\n{Describe(run)}\nRuntime log ({Hub}):\n{LogTail()}");
        throw new UnreachableException();
    }

    /// <summary>Waits until the run has ended (completed, failed or terminated).</summary>
    public Task<AgentRun> WaitTerminalAsync(string runId, TimeSpan? timeout = null) =>
        WaitForAsync(runId, r => !r.IsRunning, "terminal", timeout);

    /// <summary>Waits until the run waits for a human's approval of <paramref name="stepId"/>.</summary>
    public Task<AgentRun> WaitAwaitingApprovalAsync(string runId, string stepId) =>
        WaitForAsync(runId, r => r.IsRunning && r.View.PendingApproval?.StepId == stepId, $"awaiting approval of {stepId}");

    /// <summary>A run for a failure message: status, phase, reasons and its story.</summary>
    public static string Describe(AgentRun? run) => run is null
        ? "The run does not exist."
        : $"Status {run.Status} (engine: {run.EngineStatus}), phase {run.View.Phase}, failure '{run.View.FailureReason}'.\nRun log:\n"
          + string.Join('\n', run.View.Log.Select(l => $"  {l.At:HH:mm:ss.fff} {l.Kind} {l.StepId} {l.Message}"));

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        finally
        {
            _host.Dispose();
        }
    }
}
