using Agentic.Azure;
using Agentic.Core.Planning;
using Agentic.Runtime.Tests.Infrastructure;
using Agentic.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Agentic.Runtime.Tests;

/// <summary>
/// The drift table on a real Azurite: one row per run, command and kind (a second record of a key is refused and changes
/// nothing), an agent's rows listed for a time range, the report built over what the table holds, and the rows past the
/// longest window purged.
/// </summary>
public sealed class DriftStoreTests(AzuriteFixture azurite, FleetFixture fleet) : RuntimeTest(azurite, fleet), IClassFixture<FleetFixture>
{
    private static readonly PlanOrigin Model = new("llm", "llm:task-planner@2") { PromptId = "task-planner", PromptVersion = "2", AgentVersion = "2", Model = "gpt-test" };

    [Fact]
    public async Task AnEventIsRecordedOncePerRunCommandAndKind_AndReadBackWhole()
    {
        var store = await StoreAsync();
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 12, 2, 9, 0, 0, TimeSpan.Zero));
        var forbidden = new DriftEvent("task", "run-1", "p2.fix/gate", DriftKinds.ToolForbidden, clock.GetUtcNow(), Model)
        {
            StepId = "p2.fix",
            Tool = "sample.restart",
            Reason = "Forbidden by baseline@3 rule 'x': " + new string('y', 3000),
        };

        Assert.True(await store.RecordAsync(forbidden, Ct));
        clock.Advance(TimeSpan.FromMinutes(3));
        Assert.False(await store.RecordAsync(forbidden with { At = clock.GetUtcNow(), Reason = "a redelivery" }, Ct));
        Assert.True(await store.RecordAsync(forbidden with { Kind = DriftKinds.ApprovalRejected, CommandId = "p2.fix/approval" }, Ct));

        var listed = await store.ListAsync("task", clock.GetUtcNow().AddHours(-1), clock.GetUtcNow(), Ct);
        Assert.Equal(2, listed.Count);
        var read = listed.Single(e => e.Kind == DriftKinds.ToolForbidden);
        Assert.Equal(("run-1", "p2.fix/gate", "p2.fix", "sample.restart", Model), (read.RunId, read.CommandId, read.StepId, read.Tool, read.Origin));
        Assert.Equal(forbidden.At, read.At);
        Assert.Equal(DriftEvent.MaxReasonLength, read.Reason!.Length);
        Assert.StartsWith("Forbidden by baseline@3 rule 'x': yyy", read.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnAgentsEvents_AreListedForTheRangeAsked_AndNoOtherAgents()
    {
        var store = await StoreAsync();
        var now = new DateTimeOffset(2026, 12, 2, 9, 30, 0, TimeSpan.Zero);
        foreach (var (agent, run, minutesAgo) in new[] { ("task", "r1", 90), ("task", "r2", 30), ("task", "r3", 0), ("scaler", "r4", 10) })
        {
            await store.RecordAsync(new DriftEvent(agent, run, "plan", DriftKinds.Plan, now.AddMinutes(-minutesAgo), Model), Ct);
        }

        var hour = await store.ListAsync("task", now.AddHours(-1), now, Ct);
        var report = DriftReport.Build("task", hour, now, "1h", "5m");

        Assert.Equal(["r2", "r3"], hour.Select(e => e.RunId).Order(StringComparer.Ordinal));
        Assert.Equal(2, Assert.Single(report.Planners).Plans);
        Assert.Equal(["r4"], (await store.ListAsync("scaler", now.AddDays(-1), now, Ct)).Select(e => e.RunId));
        Assert.Empty(await store.ListAsync("diagnostics", now.AddDays(-1), now, Ct));
    }

    [Fact]
    public async Task Purge_DeletesEveryAgentsEventsBeforeTheCutoff_AtMostMaxAtATime_AndKeepsTheRest()
    {
        var store = await StoreAsync();
        var now = new DateTimeOffset(2026, 12, 2, 9, 30, 0, TimeSpan.Zero);
        var cutoff = now - DriftWindows.Longest;
        foreach (var (agent, run, daysAgo) in new[] { ("task", "old1", 45), ("task", "old2", 31), ("scaler", "old3", 60), ("task", "new1", 29), ("scaler", "new2", 1) })
        {
            Assert.True(await store.RecordAsync(new DriftEvent(agent, run, "plan", DriftKinds.Plan, now.AddDays(-daysAgo), Model), Ct));
        }

        var first = await store.PurgeAsync(cutoff, max: 2, Ct);
        var second = await store.PurgeAsync(cutoff, max: 2, Ct);
        var third = await store.PurgeAsync(cutoff, max: 2, Ct);

        Assert.Equal((2, 1, 0), (first, second, third));
        var left = (await store.ListAsync("task", now.AddYears(-1), now, Ct)).Concat(await store.ListAsync("scaler", now.AddYears(-1), now, Ct));
        Assert.Equal(["new1", "new2"], left.Select(e => e.RunId).Order(StringComparer.Ordinal));
    }

    private async Task<TableDriftStore> StoreAsync()
    {
        var store = new TableDriftStore(new StorageClients(
            new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["AgenticStorage"] = Azurite.ConnectionString }).Build(),
            Options.Create(new AgenticStorageOptions { HubName = Hub })));
        await store.Table.CreateIfNotExistsAsync(Ct);
        return store;
    }
}
