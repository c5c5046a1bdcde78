using Agentic.Azure;
using Agentic.Core;
using Agentic.Core.Agents;
using Agentic.Core.Audit;
using Agentic.Core.Governance;
using Agentic.Core.Planning;
using Agentic.Core.Runs;
using Agentic.Durable;
using Agentic.Runtime.Tests.Infrastructure;
using Agentic.Testing;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Agentic.Runtime.Tests;

/// <summary>
/// Retention on the engine and a real Azurite: ended runs' state goes after the run retention, waiting runs and every
/// audit chain stay; an audit purge removes a chain's rows only after a signed control record names it.
/// </summary>
public sealed class RetentionTests(AzuriteFixture azurite, FleetFixture fleet) : RuntimeTest(azurite, fleet), IClassFixture<FleetFixture>
{
    private static readonly IReadOnlyList<AuditPublicKey> TrustedKeys = AuditPublicKey.ParseAll(TestIdentities.AuditSigningKey);

    private static RunRetention RunRetentionAt(LocalRuntime runtime, DateTimeOffset now) =>
        new(runtime.Services.GetRequiredService<IRunStateStore>(), Options.Create(new RetentionOptions { RunDays = 30 }), new FakeTimeProvider(now), NullLogger<RunRetention>.Instance);

    private static async Task<List<string>> GovernanceRowsAsync(LocalRuntime runtime, string runId)
    {
        var rows = new List<string>();
        await foreach (var row in runtime.Governance.Table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {runId}"), select: ["RowKey"], cancellationToken: Ct))
        {
            rows.Add(row.RowKey);
        }
        return rows;
    }

    private static AuditVerifier Verifier(LocalRuntime runtime) =>
        new(new TableAuditStore(runtime.Storage), new BlobCheckpointStore(runtime.Storage), TrustedKeys);

    [Fact]
    public async Task EndedRun_IsPurgedAfterTheRunRetention_WhileAWaitingRunAndTheAuditStay()
    {
        var runtime = await StartRuntimeAsync();
        var ended = await SubmitHealerAwaitingApprovalAsync(runtime);
        await DecideAsync(runtime, ended);
        AssertCompleted(await runtime.WaitTerminalAsync(ended), "remediated");
        var waiting = await SubmitHealerAwaitingApprovalAsync(runtime);
        Assert.NotEmpty(await GovernanceRowsAsync(runtime, ended));

        var early = await RunRetentionAt(runtime, DateTimeOffset.UtcNow.AddDays(29)).SweepAsync(runtime.Engine, Ct);
        Assert.Equal(0, early.Purged);
        Assert.NotNull(await runtime.Engine.GetInstancesAsync(ended, cancellation: Ct));

        var sweep = await RunRetentionAt(runtime, DateTimeOffset.UtcNow.AddDays(31)).SweepAsync(runtime.Engine, Ct);

        Assert.Equal(1, sweep.Purged);
        Assert.False(sweep.More);
        Assert.Null(await runtime.Engine.GetInstancesAsync(ended, cancellation: Ct));
        Assert.Null(await runtime.Runs.GetAsync(ended, Ct));
        Assert.Empty(await GovernanceRowsAsync(runtime, ended));
        // The run's facts outlive its state.
        var report = (await Verifier(runtime).VerifyAsync([ended], Ct)).Chains.Single();
        Assert.True(report.Valid, report.Broken?.Reason);
        Assert.True(report.Records > 10);
        // The waiting run, however old, is untouched and goes on.
        Assert.NotEmpty(await GovernanceRowsAsync(runtime, waiting));
        await DecideAsync(runtime, waiting);
        AssertCompleted(await runtime.WaitTerminalAsync(waiting), "remediated");
    }

    [Fact]
    public async Task Sweep_DeletesPlanningDriftOlderThanTheLongestDriftWindow_AndKeepsTheRest()
    {
        var runtime = await StartRuntimeAsync();
        var drift = runtime.Services.GetRequiredService<IDriftStore>();
        // The sweep's clock is 60 days on, so the host's own sweeper (on the real clock, sweeping as the runtime starts)
        // finds none of these rows old and never races this sweep for them.
        var now = DateTimeOffset.UtcNow.AddDays(60);
        var origin = new PlanOrigin("playbook", "playbook:service-healer@1");
        var agent = "retained-" + Guid.NewGuid().ToString("N")[..8];
        await drift.RecordAsync(new DriftEvent(agent, "run-old", "plan", DriftKinds.Plan, now - DriftWindows.Longest - TimeSpan.FromHours(1), origin), Ct);
        await drift.RecordAsync(new DriftEvent(agent, "run-new", "plan", DriftKinds.Plan, now - DriftWindows.Longest + TimeSpan.FromHours(1), origin), Ct);
        var retention = new RunRetention(runtime.Services.GetRequiredService<IRunStateStore>(), Options.Create(new RetentionOptions { RunDays = 30 }),
            new FakeTimeProvider(now), NullLogger<RunRetention>.Instance, drift);

        var sweep = await retention.SweepAsync(runtime.Engine, Ct);

        Assert.Equal(1, sweep.DriftPurged);
        Assert.False(sweep.More);
        Assert.Equal(["run-new"], (await drift.ListAsync(agent, now.AddYears(-1), now, Ct)).Select(e => e.RunId));

        // The host's own sweep (the one its sweeper runs) is built with the drift store: a row a year old is gone after it.
        await drift.RecordAsync(new DriftEvent(agent, "run-older", "plan", DriftKinds.Plan, DateTimeOffset.UtcNow.AddYears(-1), origin), Ct);
        await runtime.Services.GetRequiredService<RunRetention>().SweepAsync(runtime.Engine, Ct);
        Assert.Equal(["run-new"], (await drift.ListAsync(agent, now.AddYears(-2), now, Ct)).Select(e => e.RunId));
    }

    [Fact]
    public async Task Decisions_AreAnsweredFromMemoryForTenMinutesAtMost_SoARunPurgedByAnotherHostIsNotAnsweredStale()
    {
        var runtime = await StartRuntimeAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var host = new TableGovernanceStore(runtime.Storage, clock);
        var otherHost = new TableGovernanceStore(runtime.Storage, clock);
        var runId = "run-" + Guid.NewGuid().ToString("N");
        var decision = new GateDecision(runId, "s1", "sample.health", "1.0.0", "sha256:x", GateEffect.Permit, "baseline", "4", "permit-read-only", "reads", null, clock.GetUtcNow());

        var stored = await host.RecordDecisionAsync(decision, Ct);
        // Another attempt's decision for the step loses: the first stored is the decision, on every host.
        Assert.Equal("permit-read-only", (await otherHost.RecordDecisionAsync(decision with { Rule = "late" }, Ct)).Rule);
        Assert.Equal("permit-read-only", (await otherHost.GetDecisionAsync(runId, "s1", Ct))!.Rule);

        // The run's state purged by the other host: that host forgets it at once; this one within ten minutes.
        Assert.True(await otherHost.DeleteRunAsync(runId, Ct) >= 1);
        Assert.Null(await otherHost.GetDecisionAsync(runId, "s1", Ct));
        Assert.Equal(stored, await host.GetDecisionAsync(runId, "s1", Ct));
        clock.Advance(RecentlyStored<int, int>.DefaultMaxAge + TimeSpan.FromSeconds(1));
        Assert.Null(await host.GetDecisionAsync(runId, "s1", Ct));
        // A run of the same id decided anew is answered with its own decision.
        var again = await host.RecordDecisionAsync(decision with { Effect = GateEffect.Forbid, Rule = "default-deny" }, Ct);
        Assert.Equal("default-deny", (await otherHost.GetDecisionAsync(runId, "s1", Ct))!.Rule);
        Assert.Equal(again, await host.GetDecisionAsync(runId, "s1", Ct));
    }

    [Fact]
    public async Task AuditPurge_DeletesTheChainsRows_AfterASignedControlRecord_AndVerificationReportsItPurged()
    {
        var runtime = await StartRuntimeAsync();
        var runId = await SubmitHealerAwaitingApprovalAsync(runtime);
        await DecideAsync(runtime, runId);
        AssertCompleted(await runtime.WaitTerminalAsync(runId), "remediated");
        var head = await runtime.Services.GetRequiredService<IAuditStore>().GetHeadAsync(runId, Ct);
        var options = new RetentionOptions();
        // Eight years on, the run's chain is past the audit retention.
        var later = new FakeTimeProvider(DateTimeOffset.UtcNow.AddDays(options.AuditDays + 2));
        var retention = new AuditRetention(
            runtime.Services.GetRequiredService<AuditLog>(), runtime.Services.GetRequiredService<AuditCheckpointer>(), runtime.Services.GetRequiredService<AuditSigner>(),
            runtime.Services.GetRequiredService<ICheckpointStore>(), runtime.Services.GetRequiredService<AuditHeads>(), Options.Create(options), later,
            NullLogger<AuditRetention>.Instance);

        var purge = await retention.PurgeAsync(retention.Latest, "admin-2", "Retention of the 2026 runs ended.", Ct);

        var purged = Assert.Single(purge.Purged);
        Assert.Equal(runId, purged.Chain);
        Assert.Equal(head!.Length, purged.Length);
        Assert.NotNull(purge.Checkpoint);
        var left = new List<string>();
        await foreach (var row in runtime.Storage.Table(TableAuditStore.TableSuffix).QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {runId}"), select: ["RowKey"], cancellationToken: Ct))
        {
            left.Add(row.RowKey);
        }
        Assert.Empty(left);

        // A verifier with read access and the public key only.
        var all = await Verifier(runtime).VerifyAsync(null, Ct);
        Assert.True(all.Valid, string.Join("; ", all.Chains.Where(c => !c.Valid).Select(c => $"{c.Chain}: {c.Broken?.Reason}")));
        var chain = all.Chains.Single(c => c.Chain == runId);
        Assert.Equal("admin-2", chain.Purged!.By);
        Assert.Equal(head.Hash, chain.Head);
        var control = await runtime.Services.GetRequiredService<AuditReader>().ReadAsync(AuditChain.Control, Ct);
        Assert.Equal(AuditKinds.AuditPurged, control[^1].Kind);
    }
}
