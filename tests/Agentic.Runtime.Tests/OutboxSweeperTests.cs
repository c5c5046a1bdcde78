using Agentic.Runtime.Tests.Infrastructure;
using Agentic.Testing;
using Azure;

namespace Agentic.Runtime.Tests;

/// <summary>Commands committed to a run's outbox but never dispatched (a crash in between) are dispatched by the sweeper.</summary>
public sealed class OutboxSweeperTests(AzuriteFixture azurite, FleetFixture fleet) : RuntimeTest(azurite, fleet), IClassFixture<FleetFixture>
{
    [Fact]
    public async Task Sweeper_OutboxLeftBehindBetweenCommitAndDispatch_DispatchesItAndTheRunCompletes()
    {
        // The start commits the run row and its outbox in one transaction, then sends the outbox to the queues.
        // Failing that send deterministically (the work queue is gone) leaves exactly what a crash between
        // commit and dispatch leaves; the runtime that commits is not pumping, so nothing else repairs it.
        var crashed = await StartRuntimeAsync();
        await crashed.StopAsync();
        await crashed.Runner.WorkQueue.DeleteAsync(Ct);
        var request = Requests.Diagnostics(Fleet.HealthyTarget(), probes: 2, idempotencyKey: "sweep-" + Guid.NewGuid().ToString("N"));
        var failure = await Assert.ThrowsAsync<RequestFailedException>(() => crashed.Runs.SubmitAsync(request, Ct));
        Assert.Equal(404, failure.Status);
        var runId = Assert.Single(await RunIdsAsync());
        Assert.Equal(["out|deadline", "out|perceive"], await OutboxAsync(runId));
        await crashed.Runner.WorkQueue.CreateAsync(cancellationToken: Ct);

        var runtime = await StartRuntimeAsync();

        AssertCompleted(await runtime.WaitTerminalAsync(runId), "done");
        Assert.Contains($"outbox message(s) of run {runId}", runtime.LogTail(2000), StringComparison.Ordinal);
        // Each outbox row is deleted right after its message is sent, which may be a moment after the run moved on.
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while ((await OutboxAsync(runId)).Count > 0 && DateTime.UtcNow < until)
        {
            await Task.Delay(100, Ct);
        }
        Assert.Empty(await OutboxAsync(runId));
    }

    private async Task<List<string>> OutboxAsync(string runId) =>
        [.. (await RunsTableRowsAsync()).Where(r => r.PartitionKey == runId && r.RowKey.StartsWith("out|", StringComparison.Ordinal)).Select(r => r.RowKey).Order(StringComparer.Ordinal)];
}
