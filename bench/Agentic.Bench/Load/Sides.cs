using System.Text.Json;
using Agentic.Core.Runs;
using Agentic.Core.Workflow;
using Agentic.Durable;
using Agentic.Runtime;
using Agentic.Runtime.Engine;
using Azure.Data.Tables;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Agentic.Bench.Load;

/// <summary>A run as the driver reads it back after the clock stopped: whether it did what it should, and its
/// marks (<c>planned</c>, <c>decided</c>, <c>acted</c>, with their times) for the step latencies.</summary>
internal sealed record FinishedRun(string RunId, bool Ok, string Detail, IReadOnlyList<(string Kind, double AtMs)> Marks);

/// <summary>One way of running the load: the local host on the engine, or the bare engine.</summary>
internal abstract class LoadSide : IAsyncDisposable
{
    protected LoadSide(string name, string hub, RunEndedListener signals)
    {
        Name = name;
        Hub = hub;
        Signals = signals;
    }

    /// <summary><c>engine</c> or <c>bare</c>.</summary>
    public string Name { get; }

    /// <summary>The side's own hub (tables, queues and containers are prefixed with it).</summary>
    public string Hub { get; }

    /// <summary>Where ends (and parkings) are learnt.</summary>
    public RunEndedListener Signals { get; }

    /// <summary>Warnings and errors the side logged so far.</summary>
    public IReadOnlyDictionary<string, int> Problems => Signals.Problems;

    /// <summary>Starts one diagnostics run of <paramref name="steps"/> steps against <paramref name="target"/>; returns its id.</summary>
    public abstract Task<string> SubmitAsync(string target, int steps, CancellationToken cancellationToken);

    /// <summary>Reads a run back once it ended and checks that all <paramref name="steps"/> steps succeeded.</summary>
    public abstract Task<FinishedRun> ReadAsync(string runId, int steps, CancellationToken cancellationToken);

    public abstract ValueTask DisposeAsync();

    /// <summary>Submits one run per target, at most <paramref name="inFlight"/> running at once, and waits until all ended.</summary>
    public async Task<IReadOnlyList<string>> RunAsync(IReadOnlyList<string> targets, int steps, int inFlight, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(targets);
        using var slots = new SemaphoreSlim(inFlight, inFlight);
        return await Task.WhenAll(targets.Select(async target =>
        {
            await slots.WaitAsync(cancellationToken);
            try
            {
                var runId = await SubmitAsync(target, steps, cancellationToken);
                await Signals.EndedAsync(runId).WaitAsync(cancellationToken);
                return runId;
            }
            finally
            {
                slots.Release();
            }
        }));
    }

    /// <summary>Reads every run back, 32 at a time (after timing: these reads are not part of the measurement).</summary>
    public async Task<IReadOnlyList<FinishedRun>> ReadAllAsync(IReadOnlyList<string> runIds, int steps, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(runIds);
        var runs = new List<FinishedRun>();
        foreach (var chunk in runIds.Chunk(32))
        {
            runs.AddRange(await Task.WhenAll(chunk.Select(id => ReadAsync(id, steps, cancellationToken))));
        }
        return runs;
    }

    /// <summary>A generic host without defaults, with the driver's logging: warnings to the console and the signals.</summary>
    protected static HostApplicationBuilder Builder(IReadOnlyDictionary<string, string?> settings, RunEndedListener signals)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Logging.AddProvider(signals);
        foreach (var category in signals.Categories)
        {
            builder.Logging.AddFilter<RunEndedListener>(category, LogLevel.Debug);
        }
        return builder;
    }

    protected static IReadOnlyList<(string Kind, double AtMs)> Marks(IEnumerable<RunLogEntry> log) =>
        [.. log.Select(e => (e.Kind, (e.At - DateTimeOffset.UnixEpoch).TotalMilliseconds))];

    protected static async Task StopAsync(IHost host)
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await host.StopAsync(stop.Token);
        host.Dispose();
    }
}

/// <summary>
/// Side (b), the local host as it ships: <see cref="AgenticRuntimeServiceCollectionExtensions.AddAgenticLocalRuntime"/>
/// on a generic host (the Durable Task engine on Azure Storage running <see cref="AgentRunOrchestrator"/>), fresh hub,
/// submissions through <see cref="AgentRunClient"/>, ends from the orchestrator's replay-safe "Run ended" log event.
/// </summary>
internal sealed class EngineSide : LoadSide
{
    private readonly IHost _host;

    private EngineSide(IHost host, string hub, RunEndedListener signals)
        : base("engine", hub, signals)
    {
        _host = host;
        Runs = host.Services.GetRequiredService<AgentRunClient>();
    }

    /// <summary>The run client (submissions of the idle mode).</summary>
    public AgentRunClient Runs { get; }

    public static async Task<EngineSide> StartAsync(IReadOnlyDictionary<string, string?> settings, CancellationToken cancellationToken)
    {
        const string Orchestrator = "Agentic.Durable.AgentRunOrchestrator";
        // Event 4: "Run {RunId} ended"; event 2 (Debug): "{Change} applied, now {Phase}", once per applied event.
        var signals = new RunEndedListener(new RunSignal(Orchestrator, 4), new RunSignal(Orchestrator, 2, nameof(RunPhase.AwaitingApproval)));
        // Checkpoints of the runs' audit chains are signed, as in any deployment: with a key of this process.
        var signed = new Dictionary<string, string?>(settings);
        signed.TryAdd("Agentic:Secrets:audit-signing-key", Agentic.Testing.TestIdentities.AuditSigningKey);
        var builder = Builder(signed, signals);
        builder.Services.AddAgenticLocalRuntime(builder.Configuration);
        var host = builder.Build();
        await host.StartAsync(cancellationToken);
        await host.Services.GetRequiredService<EngineService>().Ready.WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);
        return new EngineSide(host, settings["Agentic:HubName"]!, signals);
    }

    public override async Task<string> SubmitAsync(string target, int steps, CancellationToken cancellationToken) =>
        (await Runs.SubmitAsync(Requests.Diagnostics(target, steps), cancellationToken)).RunId;

    public override async Task<FinishedRun> ReadAsync(string runId, int steps, CancellationToken cancellationToken)
    {
        // The orchestrator logs the end from the episode that returns, before the engine commits it: give the commit time.
        for (var attempt = 0; ; attempt++)
        {
            var run = await Runs.GetAsync(runId, cancellationToken) ?? throw new InvalidOperationException($"Run {runId} is missing.");
            if (run.IsRunning && attempt < 100)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken);
                continue;
            }
            var view = run.View;
            var ok = view.Status == "completed" && view.Steps.Count == steps && view.Steps.All(s => s.Status == nameof(StepStatus.Succeeded));
            return new(runId, ok, $"{view.Status} ({run.EngineStatus}), {view.Steps.Count} step(s), {view.FailureReason}", Marks(view.Log));
        }
    }

    public override ValueTask DisposeAsync() => new(StopAsync(_host));
}

/// <summary>The requests the driver submits.</summary>
internal static class Requests
{
    /// <summary>Agent <c>diagnostics</c> with <c>{"probes": K}</c>: K read-only steps, all permitted.</summary>
    public static RunRequest Diagnostics(string target, int probes) => Simulation.DiagnosticsRun.Request(target, probes);

    /// <summary>How long a parked run may wait for approval (the request's <c>approvalTimeoutSeconds</c>; the run waits
    /// for the shorter of it and the policy's timeout) and its deadline: long enough that no timer of a parked run fires
    /// while the idle bench measures, short enough for the engine to need one timer message each (under its
    /// <c>MaxTimerIntervalSeconds</c>, 3 days).</summary>
    public static readonly TimeSpan ParkedApprovalTimeout = TimeSpan.FromDays(2);

    /// <summary>The parked runs' deadline (the request's <c>deadlineSeconds</c>).</summary>
    public static readonly TimeSpan ParkedDeadline = TimeSpan.FromHours(60);

    /// <summary>
    /// Agent <c>scaler</c> to zero replicas: perceive, plan, then the gate of its one step answers
    /// <c>require_approval</c> (rule <c>approve-large-scale</c>: two operators), and the run waits
    /// <see cref="ParkedApprovalTimeout"/> under the idle bench's policy. The cheapest approval-gated run the shipped
    /// agents make: 3 activities before it parks.
    /// </summary>
    public static RunRequest Parked(string target) => Simulation.DiagnosticsRun.Parse(
        JsonSerializer.Serialize(new
        {
            agent = "scaler",
            target,
            goal = "Idle bench: wait for approval",
            parameters = new { replicas = 0 },
            approvalTimeoutSeconds = (int)ParkedApprovalTimeout.TotalSeconds,
            deadlineSeconds = (int)ParkedDeadline.TotalSeconds,
        }),
        new Uri(target));
}
