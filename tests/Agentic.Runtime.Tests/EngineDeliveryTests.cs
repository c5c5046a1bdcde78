using Agentic.Core.Activities;
using Agentic.Core.Agents;
using Agentic.Core.Json;
using Agentic.Core.Workflow;
using Agentic.Durable;
using Agentic.Runtime.Tests.Infrastructure;
using Agentic.Testing;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;

namespace Agentic.Runtime.Tests;

/// <summary>
/// The engine's queues deliver at least once; the run's effects happen once. An act the engine delivers again (its host
/// died mid-call) or twice at once applies its side effect once, through the idempotency ledger and the tool's
/// idempotency key; an approval or a terminate raised twice counts once. The fleet's delay is global, so these tests
/// share a fleet only with each other (one class).
/// </summary>
public sealed class EngineDeliveryTests(AzuriteFixture azurite, FleetFixture fleet) : RuntimeTest(azurite, fleet), IClassFixture<FleetFixture>
{
    [Fact]
    public async Task Act_HostKilledWhileTheRestartIsInFlight_TheNextRuntimeFinishesTheRunAndTheRestartIsAppliedOnce()
    {
        // The first host is the real `agentic up` process, so it dies as processes die (SIGKILL): no drain, the act's
        // work item invisible until its visibility timeout, its partitions until their leases end, and its ledger lease
        // held until it expires.
        await using var killed = new AgenticHost(Azurite.ConnectionString, Hub, fleet: Fleet.Fleet);
        await killed.StartAsync();
        var client = CreateRuntime();
        var runId = await SubmitHealerAwaitingApprovalAsync(client);
        // The fleet applies the restart at once and answers a minute later: the host dies before it hears back.
        await Fleet.DelayNextAsync(TimeSpan.FromSeconds(60));
        await DecideAsync(client, runId);
        await WaitForEffectAsync(runId, e => e.Applied == 1, "restarted by the first host");
        await killed.KillAsync();

        var next = await StartRuntimeAsync();

        var run = await next.WaitTerminalAsync(runId, TimeSpan.FromSeconds(90));
        AssertCompleted(run, "remediated");
        await AssertAppliedOnceAsync(runId, "s2", "restart");
        // The engine delivered the act again; the ledger found the interrupted call and repeated it with the same
        // idempotency key, which the fleet answered from its first response.
        Assert.Equal(2, (await Fleet.EffectsOfAsync(runId)).Single().Requests);
        Assert.Equal(2, (await next.Governance.Table.GetEntityAsync<TableEntity>(runId, "action|s2", cancellationToken: Ct)).Value.GetInt32("Attempts") ?? 0);
    }

    [Fact]
    public async Task Act_DeliveredTwiceAtOnce_CallsTheToolOnce_AndTheSecondDeliveryReturnsTheRecordedOutcome()
    {
        var runtime = await StartRuntimeAsync();
        var runId = await SubmitHealerAwaitingApprovalAsync(runtime);
        await Fleet.DelayNextAsync(TimeSpan.FromSeconds(3));
        await DecideAsync(runtime, runId);
        // While the engine's delivery is in the fleet's hands, the same work item (the act's envelope, as the workflow
        // builds it from the run) reaches a second worker, as a redelivery would.
        await WaitForEffectAsync(runId, e => e.Requests == 1, "the act's call in flight");
        var acting = (await runtime.Runs.GetAsync(runId, Ct))!.View;
        var step = acting.Steps.Single(s => s.StepId == "s2");
        var envelope = new ActivityEnvelope(runId, AgentWorkflow.Ids.Act("s2"),
            AgenticJson.ToElement(new ActInput(runId, "s2", acting.Target, step.Tool, step.Arguments!.Value, step.ArgsDigest!, step.Decision!, step.Approval, acting.Agent)),
            new AgentWorkflowOptions().ActTimeout);
        var second = CreateRuntime();

        var duplicate = await second.Services.GetRequiredService<AgentActivityRunner>().RunAsync(AgentActivities.Act, AgenticJson.ToElement(envelope), Ct);

        var run = await runtime.WaitTerminalAsync(runId);
        AssertCompleted(run, "remediated");
        await AssertAppliedOnceAsync(runId, "s2", "restart");
        Assert.Equal(1, (await Fleet.EffectsOfAsync(runId)).Single().Requests);
        // The duplicate found the call in flight, waited for it and answered its recorded outcome; the run took the
        // engine's own.
        Assert.Contains($"Act (s2/act) of run {runId} waits for another worker", second.LogTail(), StringComparison.Ordinal);
        var replayed = AgenticJson.FromElement<ActResult>(duplicate);
        Assert.True(replayed.Replayed);
        var restart = run.View.Steps.Single(s => s.StepId == "s2");
        Assert.False(restart.Result!.Replayed);
        Assert.Equal(restart.Result.Summary, replayed.Summary);
    }

    [Fact]
    public async Task Approval_RaisedTwiceForTheSameApprover_CountsOnce_AndTheQuorumOfTwoStillWaits()
    {
        var runtime = await StartRuntimeAsync();
        var runId = await SubmitAsync(runtime, Requests.Scaler(Fleet.HealthyTarget(), replicas: 0));
        var pending = (await runtime.WaitAwaitingApprovalAsync(runId, "s1")).View.PendingApproval!;
        Assert.Equal(2, pending.Quorum);
        // bob's answer as the run client keeps it (recorded and audited, then raised), raised twice through the engine client.
        var answer = new ApprovalDecision("approve", Approver, ["operator"], pending.ArgsDigest, "once", DateTimeOffset.UtcNow) { ToolHash = pending.ToolHash };
        var approval = await runtime.Governance.RecordApprovalAsync(runId, "s1", answer, Ct);
        await runtime.Services.GetRequiredService<Agentic.Core.Audit.AuditLog>().AppendAsync(runId, Agentic.Core.Audit.AuditEntries.Approved("s1", approval), Agentic.Core.Audit.AuditConflict.Refuse, Ct);
        var eventName = AgentWorkflow.Ids.ApprovalEvent("s1");

        await runtime.Engine.RaiseEventAsync(runId, eventName, AgenticJson.ToElement(approval), Ct);
        await runtime.Engine.RaiseEventAsync(runId, eventName, AgenticJson.ToElement(approval), Ct);

        // Both deliveries reached the run: the engine keeps every event it applied in the run's history.
        await WaitUntilAsync(async () => (await EngineStorage.HistoryAsync(runId, "EventRaised", Ct)).Count(r => r.GetString("Name") == eventName) == 2,
            "both approvals applied", describe: async () => LocalRuntime.Describe(await runtime.Runs.GetAsync(runId, Ct)));
        var waiting = await runtime.Runs.GetAsync(runId, Ct);
        Assert.True(waiting is { IsRunning: true, View.Phase: nameof(RunPhase.AwaitingApproval) }, LocalRuntime.Describe(waiting));
        Assert.Equal([Approver], waiting.View.PendingApproval!.ApprovedBy);
        Assert.Single(waiting.View.Log, l => l.Kind == "approved");
        Assert.Empty(await Fleet.EffectsOfAsync(runId));

        var second = await runtime.Runs.DecideAsync(runId, "s1", approve: true, "two", "erin", ["operator"], Ct);
        Assert.Equal(ApprovalRefusal.None, second.Refusal);
        var run = await runtime.WaitTerminalAsync(runId);
        AssertCompleted(run, "done");
        await AssertAppliedOnceAsync(runId, "s1", "scale");
        Assert.Equal(2, run.View.Log.Count(l => l.Kind == "approved"));
    }

    [Fact]
    public async Task Terminate_RequestedTwice_EndsTheRunOnce_WithTheFirstReason()
    {
        var runtime = await StartRuntimeAsync();
        var runId = await SubmitHealerAwaitingApprovalAsync(runtime);

        await runtime.Runs.TerminateAsync(runId, "first", "carol", Ct);
        await runtime.Runs.TerminateAsync(runId, "second", "dave", Ct);

        var run = await runtime.WaitTerminalAsync(runId);
        Assert.Equal("terminated", run.Status);
        Assert.Equal("Terminated by carol: first", run.View.FailureReason);
        Assert.Single(run.View.Log, l => l.Kind == "terminated");
        // The second request is consumed too: the control queues are left holding only the run's timers (a durable
        // timer's message stays until it is due, whatever became of the run).
        await WaitUntilAsync(async () => await EngineStorage.ControlMessageCountAsync(Ct) == (await EngineStorage.HistoryAsync(runId, "TimerCreated", Ct)).Count,
            "the second terminate consumed", describe: async () => $"{await EngineStorage.ControlMessageCountAsync(Ct)} control message(s).\n{runtime.LogTail()}");
        var after = await runtime.Runs.GetAsync(runId, Ct);
        Assert.Equal("Terminated by carol: first", after!.View.FailureReason);
        Assert.Equal(run.View.UpdatedAt, after.View.UpdatedAt);
        Assert.Single(await EngineStorage.HistoryAsync(runId, "ExecutionCompleted", Ct));
        Assert.Empty(await Fleet.EffectsOfAsync(runId));
    }
}
