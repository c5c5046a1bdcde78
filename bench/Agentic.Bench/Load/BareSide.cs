using Agentic.Azure;
using Agentic.Runtime.Engine;
using DurableTask.AzureStorage;
using DurableTask.Core;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Converters;
using Microsoft.DurableTask.Worker;
using Microsoft.DurableTask.Worker.Shims;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Agentic.Bench.Load;

/// <summary>One point of a bare run: <c>planned</c>, <c>decided</c> or <c>acted</c>, at the orchestration's time.</summary>
internal sealed record Mark(string Kind, DateTime At);

/// <summary>
/// Side (c), the bare engine: the same <see cref="TaskHubWorker"/> on <see cref="AzureStorageOrchestrationService"/> with
/// the local host's settings (<see cref="EngineService.Settings"/>, same <see cref="EngineOptions"/>), the same SDK shim
/// and the same client (<see cref="EngineClient"/>), running a trivial orchestrator that calls as many activities as a
/// diagnostics run of K steps does (perceive, plan, then gate and act per step) in sequence. The activities return at
/// once and touch no storage: no governance tables, no fleet, no decider, small inputs and outputs, no custom status,
/// no deadline timer. What (b) costs above this is the agent workflow and its governance I/O.
/// </summary>
internal sealed class BareSide : LoadSide
{
    private const string Orchestration = "BareRun";
    private const string Category = "Agentic.Bench.Load.BareRun";
    private static readonly string[] Activities = ["BarePerceive", "BarePlan", "BareGate", "BareAct"];

    private readonly TaskHubWorker _worker;
    private readonly EngineClient _client;
    private readonly ILoggerFactory _loggers;

    private BareSide(string hub, RunEndedListener signals, TaskHubWorker worker, EngineClient client, ILoggerFactory loggers)
        : base("bare", hub, signals)
    {
        _worker = worker;
        _client = client;
        _loggers = loggers;
    }

    public static async Task<BareSide> StartAsync(string connectionString, string hub, EngineOptions options, CancellationToken cancellationToken)
    {
        var signals = new RunEndedListener(new RunSignal(Category, 4));
        var loggers = LoggerFactory.Create(b =>
        {
            b.SetMinimumLevel(LogLevel.Warning);
            b.AddSimpleConsole(o => o.SingleLine = true);
            b.AddProvider(signals);
            b.AddFilter<RunEndedListener>(Category, LogLevel.Debug);
        });
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["AgenticStorage"] = connectionString }).Build();
        var storage = new StorageClients(configuration, Microsoft.Extensions.Options.Options.Create(new AgenticStorageOptions { HubName = hub }));
        var service = new AzureStorageOrchestrationService(EngineService.Settings(storage, options, loggers));
        await service.CreateIfNotExistsAsync().WaitAsync(cancellationToken);
        // As EngineService wires it.
        var shims = new DurableTaskShimFactory(new DurableTaskWorkerOptions { MaximumTimerInterval = TimeSpan.FromSeconds(options.MaxTimerIntervalSeconds) }, loggers);
        var worker = new TaskHubWorker(service, loggers) { ErrorPropagationMode = ErrorPropagationMode.UseFailureDetails };
        worker.AddTaskOrchestrations(new TaskCreator<TaskOrchestration>(Orchestration, () => shims.CreateOrchestration<int, List<Mark>?>(Orchestration, RunAsync)));
        foreach (var name in Activities)
        {
            worker.AddTaskActivities(new TaskCreator<TaskActivity>(name, () => shims.CreateActivity<int, string?>(name, (_, _) => Task.FromResult<string?>("ok"))));
        }
        await worker.StartAsync();
        return new BareSide(hub, signals, worker, new EngineClient(service, JsonDataConverter.Default), loggers);
    }

    public override Task<string> SubmitAsync(string target, int steps, CancellationToken cancellationToken) =>
        _client.ScheduleNewOrchestrationInstanceAsync(Orchestration, steps, new StartOrchestrationOptions { InstanceId = "bare-" + Guid.NewGuid().ToString("N") }, cancellationToken);

    public override async Task<FinishedRun> ReadAsync(string runId, int steps, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            var instance = await _client.GetInstancesAsync(runId, getInputsAndOutputs: true, cancellationToken) ?? throw new InvalidOperationException($"Run {runId} is missing.");
            if (!instance.IsCompleted && attempt < 100)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken);
                continue;
            }
            var marks = instance.IsCompleted ? instance.ReadOutputAs<List<Mark>>() ?? [] : [];
            var ok = instance.RuntimeStatus == Microsoft.DurableTask.Client.OrchestrationRuntimeStatus.Completed && marks.Count == 1 + (2 * steps);
            return new(runId, ok, $"{instance.RuntimeStatus}, {marks.Count} mark(s)",
                [.. marks.Select(m => (m.Kind, (new DateTimeOffset(DateTime.SpecifyKind(m.At, DateTimeKind.Utc)) - DateTimeOffset.UnixEpoch).TotalMilliseconds))]);
        }
    }

    public override async ValueTask DisposeAsync()
    {
        await _worker.StopAsync(isForced: false);
        _worker.Dispose();
        _loggers.Dispose();
    }

    // Perceive and plan, then gate and act per step; the marks sit where (b)'s run log has them (the orchestration's
    // time when it takes up a completion).
    private static async Task<List<Mark>?> RunAsync(TaskOrchestrationContext context, int steps)
    {
        var marks = new List<Mark>();
        await context.CallActivityAsync<string>(Activities[0], 0);
        await context.CallActivityAsync<string>(Activities[1], 0);
        marks.Add(new("planned", context.CurrentUtcDateTime));
        for (var step = 1; step <= steps; step++)
        {
            await context.CallActivityAsync<string>(Activities[2], step);
            marks.Add(new("decided", context.CurrentUtcDateTime));
            await context.CallActivityAsync<string>(Activities[3], step);
            marks.Add(new("acted", context.CurrentUtcDateTime));
        }
        context.CreateReplaySafeLogger(Category).BareRunEnded(context.InstanceId, "completed");
        return marks;
    }
}

internal static partial class BenchLogs
{
    // The same event id and shape as the orchestrator's RunEnded, so one listener serves both engine sides.
    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "Run {RunId} ended {Status}.")]
    public static partial void BareRunEnded(this ILogger logger, string runId, string status);
}
