using Agentic.Core.Agents;
using Agentic.Core.Json;
using Agentic.Core.Workflow;
using Agentic.Runtime.Queues;
using Agentic.Runtime.Tests.Infrastructure;
using Agentic.Testing;
using Azure.Data.Tables;

namespace Agentic.Runtime.Tests;

/// <summary>At-most-once starts and exactly-once application of events despite at-least-once queues.</summary>
public sealed class DeliveryTests(AzuriteFixture azurite, FleetFixture fleet) : RuntimeTest(azurite, fleet), IClassFixture<FleetFixture>
{
    [Fact]
    public async Task Submit_SameIdempotencyKeyAndPrincipal_ReturnsTheFirstRun()
    {
        var runtime = await StartRuntimeAsync();
        var request = Requests.Diagnostics(Fleet.HealthyTarget(), probes: 1, idempotencyKey: "nightly-" + Guid.NewGuid().ToString("N"));

        var first = await runtime.Runs.SubmitAsync(request, Ct);
        var second = await runtime.Runs.SubmitAsync(request, Ct);
        var otherPrincipal = await runtime.Runs.SubmitAsync(request with { Principal = "carol" }, Ct);

        Assert.True(first.Created);
        Assert.False(second.Created);
        Assert.Equal(first.RunId, second.RunId);
        Assert.True(otherPrincipal.Created);
        Assert.NotEqual(first.RunId, otherPrincipal.RunId);
        AssertCompleted(await runtime.WaitTerminalAsync(first.RunId), "done");
        AssertCompleted(await runtime.WaitTerminalAsync(otherPrincipal.RunId), "done");
    }

    [Fact]
    public async Task Runner_RedeliveredEvent_IsAppliedOnce()
    {
        var runtime = await StartRuntimeAsync();
        var runId = await SubmitHealerAwaitingApprovalAsync(runtime);
        var before = await runtime.Runs.GetAsync(runId, Ct);
        // A refused approval (the requester approving their own step) changes the state every time it is
        // evolved (it adds a log line), so only the runner's applied-event row can stop the second delivery.
        var refused = ApprovalEvent(runId, "ext:redelivered-refusal", before!.State, Requests.Requester);

        await DeliverTwiceAsync(runtime, refused);

        var after = await runtime.Runs.GetAsync(runId, Ct);
        Assert.NotNull(after);
        Assert.Equal(before.Events + 1, after.Events);
        Assert.Single(after.State.Log, l => l.Kind == "approval-refused");
        Assert.Equal(1, await AppliedEventRowsAsync(runtime, runId, refused.EventId));
        Assert.Equal(RunPhase.AwaitingApproval, after.State.Phase);
    }

    [Fact]
    public async Task Runner_RedeliveredApproval_ActsOnceAndCompletes()
    {
        var runtime = await StartRuntimeAsync();
        var runId = await SubmitHealerAwaitingApprovalAsync(runtime);
        var state = (await runtime.Runs.GetAsync(runId, Ct))!.State;
        var approval = ApprovalEvent(runId, "ext:redelivered-approval", state, Approver);
        // The act activity only runs under a stored approval, as AgentRuns.DecideAsync stores it before raising the event.
        var decision = AgenticJson.FromElement<ApprovalDecision>(((EventRaised)approval.Event!).Payload);
        await runtime.Governance.RecordApprovalAsync(runId, "s2", decision, Ct);

        await DeliverTwiceAsync(runtime, approval);

        var run = await runtime.WaitTerminalAsync(runId);
        AssertCompleted(run, "remediated");
        Assert.Single(run.State.Log, l => l.Kind == "approved");
        Assert.Equal(1, await AppliedEventRowsAsync(runtime, runId, approval.EventId));
        await AssertAppliedOnceAsync(runId, "s2", "restart");
    }

    private static ControlMessage ApprovalEvent(string runId, string eventId, AgentRunState state, string approver)
    {
        var step = state.Steps[state.Current];
        var approval = new ApprovalDecision("approve", approver, ["operator"], step.ArgsDigest, "redelivered", DateTimeOffset.UtcNow);
        return new ControlMessage(runId, eventId, new EventRaised(AgentWorkflow.Ids.ApprovalEvent(step.StepId), AgenticJson.ToElement(approval), DateTimeOffset.UtcNow), null, null);
    }

    /// <summary>Sends the identical control message twice and waits until the control queue has taken both.</summary>
    private static async Task DeliverTwiceAsync(LocalRuntime runtime, ControlMessage message)
    {
        var queue = runtime.Runner.ControlQueue;
        // Timers (deadline, approval timeout) wait in the control queue as hidden messages; they stay.
        var waiting = (await queue.GetPropertiesAsync(Ct)).Value.ApproximateMessagesCount;
        await runtime.Runner.SendControlAsync(message, TimeSpan.Zero, Ct);
        await runtime.Runner.SendControlAsync(message, TimeSpan.Zero, Ct);
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while ((await queue.GetPropertiesAsync(Ct)).Value.ApproximateMessagesCount > waiting)
        {
            Assert.True(DateTime.UtcNow < until, "The control queue did not take both deliveries within 30 s.\n" + runtime.LogTail());
            await Task.Delay(100, Ct);
        }
    }

    private static async Task<int> AppliedEventRowsAsync(LocalRuntime runtime, string runId, string eventId)
    {
        var rowKey = "evt|" + Uri.EscapeDataString(eventId);
        var rows = runtime.Runner.RunsTable.QueryAsync<TableEntity>(e => e.PartitionKey == runId && e.RowKey == rowKey, cancellationToken: Ct);
        var count = 0;
        await foreach (var _ in rows)
        {
            count++;
        }
        return count;
    }
}
