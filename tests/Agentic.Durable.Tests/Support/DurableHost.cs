using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Agentic.Core.Activities;
using Agentic.Core.Agents;
using Agentic.Core.Json;
using Agentic.Core.Runs;
using Agentic.Core.Workflow;
using Microsoft.DurableTask.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Agentic.Durable.Tests.Support;

/// <summary>
/// The real <see cref="AgentRunOrchestrator"/> over the real <see cref="AgentWorkflow"/> on the Durable Task SDK's
/// in-process test host (an in-memory backend behind a gRPC sidecar, the same worker and client libraries the hosts
/// use). The four workflow activities go through the product's <see cref="AgentActivity"/> adapter to scripted fakes, one
/// <see cref="RunScript"/> per run id; the conclude activity is the real one, on an in-memory audit trail and drift store. The engine's timers are real time, so every wait here is for a condition.
/// </summary>
public sealed class DurableHost : IAsyncLifetime
{
    /// <summary>How long any condition may take; generous, since a busy machine slows everything down.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(45);

    /// <summary>The deployment's options, with short retry back-offs: the engine waits them out in real time.</summary>
    public static readonly AgentWorkflowOptions Options = new()
    {
        ReadRetry = new(3, TimeSpan.FromMilliseconds(200), 2, TimeSpan.FromSeconds(1)),
        ActRetry = new(3, TimeSpan.FromMilliseconds(200), 2, TimeSpan.FromSeconds(1)),
    };

    private static readonly string[] ScriptedNames = [AgentActivities.Perceive, AgentActivities.Plan, AgentActivities.Gate, AgentActivities.Act];

    private readonly ConcurrentDictionary<string, RunScript> _scripts = new(StringComparer.Ordinal);
    private DurableTaskTestHost? _host;

    internal OrchestrationRecorder Recorder { get; } = new();

    internal MemoryDecisionStore Decisions { get; } = new();

    /// <summary>The audit trail the run client and the conclude activity write.</summary>
    internal Agentic.Testing.TestAudit Audit { get; } = new();

    /// <summary>The drift the conclude activity records for the runs' workflow (rejections, approval timeouts, failed post-conditions).</summary>
    internal Agentic.Core.Planning.InMemoryDriftStore Drift { get; } = new();

    internal DurableTaskTestHost Engine => _host ?? throw new InvalidOperationException("The host has not started.");

    /// <summary>The product's run client over the engine's client; <paramref name="clock"/> stamps approvals.</summary>
    internal AgentRunClient Runs(TimeProvider? clock = null) =>
        new(Engine.Client, Decisions, Audit.Log, clock ?? TimeProvider.System, NullLogger<AgentRunClient>.Instance);

    public async ValueTask InitializeAsync()
    {
        var orchestrator = new RecordingOrchestrator(new AgentRunOrchestrator(new AgentWorkflow(Options)), Recorder);
        var runner = new AgentActivityRunner(
            new ActivityRegistry([.. ScriptedNames.Select(name => new ScriptedActivity(name, Script)), new ConcludeActivity(Audit.Log, Audit.Heads, Audit.Checkpointer, TimeProvider.System, drift: Drift)]),
            TimeProvider.System,
            NullLogger<AgentActivityRunner>.Instance);
        _host = await DurableTaskTestHost.StartAsync(
            registry =>
            {
                registry.AddOrchestrator(AgentRunOrchestrator.Name, orchestrator);
                foreach (var name in AgentActivities.All)
                {
                    registry.AddActivity(name, new AgentActivity(name, runner));
                }
            },
            // Unless told, the host picks a random port in 30000-40000 without checking it is free; the OS knows one that is.
            new DurableTaskTestHostOptions { Port = FreePort() });
    }

    public async ValueTask DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
        Audit.Dispose();
    }

    /// <summary>Starts <paramref name="request"/> through the run client, with <paramref name="script"/> answering its activities.</summary>
    internal async Task<string> StartAsync(RunRequest request, RunScript script)
    {
        var runId = RunIds.For(request);
        Assert.True(_scripts.TryAdd(runId, script), $"Run {runId} was scripted twice.");
        var (started, created) = await Runs().SubmitAsync(request, TestContext.Current.CancellationToken);
        Assert.Equal(runId, started);
        Assert.True(created);
        return runId;
    }

    /// <summary>Polls the run's document until <paramref name="condition"/> holds; fails naming <paramref name="what"/> and the last document.</summary>
    internal async Task<AgentRun> WaitForAsync(string runId, Func<AgentRun, bool> condition, string what)
    {
        var runs = Runs();
        var clock = Stopwatch.StartNew();
        AgentRun? last = null;
        while (clock.Elapsed < Patience)
        {
            last = await runs.GetAsync(runId, TestContext.Current.CancellationToken);
            if (last is not null && condition(last))
            {
                return last;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(50), TestContext.Current.CancellationToken);
        }
        Assert.Fail($"Run {runId}: no {what} within {Patience.TotalSeconds} s. Last document: {(last is null ? "none" : JsonSerializer.Serialize(last.View, AgenticJson.Options))}");
        throw new UnreachableException();
    }

    /// <summary>Waits until the run awaits approval of <paramref name="stepId"/> (with <paramref name="more"/> true, if given).</summary>
    internal Task<AgentRun> AwaitingApprovalAsync(string runId, string stepId, Func<PendingApprovalView, bool>? more = null) =>
        WaitForAsync(runId, r => r.IsRunning && r.View.PendingApproval is { } p && p.StepId == stepId && (more?.Invoke(p) ?? true), $"pending approval of {stepId}");

    /// <summary>Waits until the run has ended and returns its final document.</summary>
    internal Task<AgentRun> EndedAsync(string runId) => WaitForAsync(runId, r => !r.IsRunning, "end");

    private RunScript Script(string runId) =>
        _scripts.TryGetValue(runId, out var script) ? script : throw new NonRetryableException($"No script for run {runId}.");

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
