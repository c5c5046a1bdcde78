using Agentic.Azure;
using Agentic.Core.Agents;
using Agentic.Core.Policy;
using Agentic.Core.Policy.Language;
using Agentic.Core.Policy.Lifecycle;
using Agentic.Core.Tools;
using Agentic.Durable;
using Agentic.Runtime.Tests.Infrastructure;
using Agentic.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Agentic.Runtime.Tests;

/// <summary>
/// The policy lifecycle on a real Azurite: immutable versions, activation with who and why, rollback, shadow mode,
/// the gate's provider following the store (and failing when it can not), and the decision log across runs.
/// </summary>
public sealed class PolicyStoreTests(AzuriteFixture azurite, FleetFixture fleet) : RuntimeTest(azurite, fleet), IClassFixture<FleetFixture>
{
    private const string Admin = "carol";

    [Fact]
    public async Task Save_SameVersionWithOtherText_IsAConflictAndTheStoredTextStays()
    {
        var store = await StoreAsync();
        var original = Policy("strict", "1");

        var created = await store.SaveAsync("strict", "1", original, Admin, Ct);
        var again = await store.SaveAsync("strict", "1", original, "dave", Ct);
        var conflict = await Assert.ThrowsAsync<PolicyConflictException>(() => store.SaveAsync("strict", "1", Policy("strict", "1", forbidden: "sample.scale"), "mallory", Ct));

        Assert.True(created.Created);
        Assert.False(again.Created);
        Assert.Equal(Admin, again.Version.SavedBy);
        Assert.Contains("strict@1", conflict.Message, StringComparison.Ordinal);
        var stored = await store.GetAsync("strict", "1", Ct);
        Assert.Equal(original, stored!.Yaml);
        Assert.Equal(PolicyLifecycle.Hash(original), stored.Info.ContentHash);
        Assert.Single(await store.ListAsync(null, Ct));
    }

    [Fact]
    public async Task Save_LargePolicy_IsReadBackExactly_AndOneOverTheCapIsRefused()
    {
        var store = await StoreAsync();
        var large = Policy("large", "1") + "# " + new string('x', PolicyLifecycle.MaxYamlChars - 2 - Policy("large", "1").Length - 1) + "\n";
        Assert.Equal(PolicyLifecycle.MaxYamlChars, large.Length);

        await store.SaveAsync("large", "1", large, Admin, Ct);
        var error = await Assert.ThrowsAsync<ArgumentException>(() => store.SaveAsync("large", "2", large + "#", Admin, Ct));

        Assert.Equal(large, (await store.GetAsync("large", "1", Ct))!.Yaml);
        Assert.Contains(PolicyLifecycle.MaxYamlChars.ToString(System.Globalization.CultureInfo.InvariantCulture), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ListAndGet_FindVersionsByIdOnly()
    {
        var store = await StoreAsync();
        await store.SaveAsync("a", "1", Policy("a", "1"), Admin, Ct);
        await store.SaveAsync("a", "2", Policy("a", "2"), Admin, Ct);
        await store.SaveAsync("ab", "1", Policy("ab", "1"), Admin, Ct);

        Assert.Equal(["1", "2"], (await store.ListAsync("a", Ct)).Select(v => v.Version));
        Assert.Equal(3, (await store.ListAsync(null, Ct)).Count);
        Assert.Null(await store.GetAsync("a", "3", Ct));
        Assert.Null(await store.GetAsync("a", "1/..", Ct));
    }

    [Fact]
    public async Task Activate_RecordsWhoAndWhy_InTheActiveSetAndTheHistory()
    {
        var store = await StoreAsync();
        await store.SaveAsync("strict", "1", Policy("strict", "1"), Admin, Ct);

        var active = await store.ActivateAsync("strict", "1", PolicyMode.Enforce, Admin, "incident 7: stop restarts", Ct);
        var unknown = await Assert.ThrowsAsync<PolicyNotFoundException>(() => store.ActivateAsync("strict", "9", PolicyMode.Enforce, Admin, "x", Ct));

        Assert.Equal(("strict", "1", Admin, "incident 7: stop restarts", 1L), (active.Enforced?.Id, active.Enforced?.Version, active.Enforced?.ActivatedBy, active.Enforced?.Reason, active.Sequence));
        var reread = await (await StoreAsync()).GetActiveAsync(Ct);
        Assert.Equal((active.Enforced, active.Shadow, active.Sequence), (reread.Enforced, reread.Shadow, reread.Sequence));
        var entry = Assert.Single(await store.HistoryAsync(10, Ct));
        Assert.Equal((PolicyActions.Activate, "strict", "1", PolicyMode.Enforce, Admin, "incident 7: stop restarts"), (entry.Action, entry.Id, entry.Version, entry.Mode, entry.By, entry.Reason));
        Assert.Contains("strict@9", unknown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rollback_MakesThePreviousVersionEnforcedAgain_AndWithoutOneIsAConflict()
    {
        var store = await StoreAsync();
        await Assert.ThrowsAsync<PolicyConflictException>(() => store.RollbackAsync(Admin, "nothing yet", Ct));
        await EnforceAsync(store, "p", "1");
        await EnforceAsync(store, "p", "2");

        var rolledBack = await store.RollbackAsync("dave", "v2 blocks diagnostics", Ct);

        Assert.Equal(("1", "dave", "v2 blocks diagnostics"), (rolledBack.Enforced?.Version, rolledBack.Enforced?.ActivatedBy, rolledBack.Enforced?.Reason));
        Assert.Empty(rolledBack.Previous);
        var history = await store.HistoryAsync(10, Ct);
        Assert.Equal([PolicyActions.Rollback, PolicyActions.Activate, PolicyActions.Activate], history.Select(h => h.Action));
        Assert.Equal(("p", "1", "p@2", "dave"), (history[0].Id, history[0].Version, history[0].Replaced, history[0].By));
        await Assert.ThrowsAsync<PolicyConflictException>(() => store.RollbackAsync(Admin, "again", Ct));
        Assert.Equal(3, (await store.GetActiveAsync(Ct)).Sequence);
    }

    [Fact]
    public async Task Shadow_ActivatedThenCleared_IsRecorded_AndEnforcingTheShadowVersionClearsTheSlot()
    {
        var store = await StoreAsync();
        await EnforceAsync(store, "p", "1");
        await store.SaveAsync("q", "1", Policy("q", "1", forbidden: "sample.restart"), Admin, Ct);
        await store.SaveAsync("q", "2", Policy("q", "2"), Admin, Ct);

        var shadowed = await store.ActivateAsync("q", "1", PolicyMode.Shadow, Admin, "watch q", Ct);
        var cleared = await store.ClearShadowAsync("dave", "q is too strict", Ct);
        var none = await store.ClearShadowAsync("dave", "again", Ct);
        await store.ActivateAsync("q", "2", PolicyMode.Shadow, Admin, "watch q2", Ct);
        var promoted = await store.ActivateAsync("q", "2", PolicyMode.Enforce, Admin, "q2 is right", Ct);

        Assert.Equal(("p", "q"), (shadowed.Enforced?.Id, shadowed.Shadow?.Id));
        Assert.Null(cleared!.Shadow);
        Assert.Null(none);
        Assert.Equal(("q", "2"), (promoted.Enforced?.Id, promoted.Enforced?.Version));
        Assert.Null(promoted.Shadow);
        var history = await store.HistoryAsync(10, Ct);
        Assert.Equal(
            [(PolicyActions.Activate, PolicyMode.Enforce), (PolicyActions.Activate, PolicyMode.Shadow), (PolicyActions.ClearShadow, PolicyMode.Shadow), (PolicyActions.Activate, PolicyMode.Shadow), (PolicyActions.Activate, PolicyMode.Enforce)],
            history.Select(h => (h.Action, h.Mode)));
        Assert.Equal(("dave", "q is too strict"), (history[2].By, history[2].Reason));
    }

    [Fact]
    public async Task ConcurrentActivations_FromTwoProcesses_AllLandInOrderWithNoneLost()
    {
        var first = await StoreAsync();
        var second = await StoreAsync();
        for (var i = 1; i <= 8; i++)
        {
            await first.SaveAsync("p", $"{i}", Policy("p", $"{i}"), Admin, Ct);
        }

        await Task.WhenAll(Enumerable.Range(1, 8).Select(i => (i % 2 == 0 ? first : second).ActivateAsync("p", $"{i}", PolicyMode.Enforce, Admin, $"v{i}", Ct)));

        var active = await first.GetActiveAsync(Ct);
        var history = await first.HistoryAsync(20, Ct);
        Assert.Equal(8, active.Sequence);
        Assert.Equal(8, history.Count);
        Assert.Equal(7, active.Previous.Count);
        // Each activation replaced the one before it: the chain of "replaced" names every version once.
        Assert.Equal(history[0].Version, active.Enforced!.Version);
        Assert.Equal([.. history.Skip(1).Select(h => h.Version)], active.Previous.Select(p => p.Version));
        Assert.Equal([.. history.Skip(1).Select(h => "p@" + h.Version)], history.SkipLast(1).Select(h => h.Replaced!));
    }

    [Fact]
    public async Task Provider_FollowsActivationsAndRollbacks()
    {
        var store = await StoreAsync();
        await EnforceAsync(store, "p", "1");
        using var provider = new StoredPolicyProvider(store, TimeProvider.System, TimeSpan.Zero);

        var before = await provider.GetAsync(Ct);
        await EnforceAsync(store, "p", "2", forbidden: "sample.diagnostics");
        await store.ActivateAsync("p", "1", PolicyMode.Shadow, Admin, "compare", Ct);
        var after = await provider.GetAsync(Ct);
        await store.RollbackAsync(Admin, "back", Ct);
        var back = await provider.GetAsync(Ct);

        Assert.Equal(("1", null), (before.Enforced.Version, before.Shadow?.Version));
        Assert.Equal(("2", "1"), (after.Enforced.Version, after.Shadow?.Version));
        Assert.Equal("no-sample-diagnostics", after.Enforced.Rules[0].Id);
        Assert.Same(before.Enforced, back.Enforced);
        Assert.Null(back.Shadow);
    }

    [Fact]
    public async Task Provider_StoreUnreachable_Throws()
    {
        var port = Ports.Free();
        var unreachable = new TablePolicyStore(Clients($"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;TableEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"), TimeProvider.System);
        using var provider = new StoredPolicyProvider(unreachable, TimeProvider.System, TimeSpan.FromSeconds(2));

        var error = await Assert.ThrowsAsync<PolicyUnavailableException>(async () => await provider.GetAsync(Ct));

        Assert.Contains("could not answer", error.Message, StringComparison.Ordinal);
        Assert.NotNull(error.InnerException);
    }

    [Fact]
    public async Task Provider_TableMissing_Throws()
    {
        // A hub nobody provisioned: the missing table is not "no policy", and the gate must not guess.
        using var provider = new StoredPolicyProvider(new TablePolicyStore(Clients(), TimeProvider.System), TimeProvider.System, TimeSpan.Zero);

        var error = await Assert.ThrowsAsync<PolicyUnavailableException>(async () => await provider.GetAsync(Ct));

        Assert.Contains("TableNotFound", error.InnerException?.Message ?? "", StringComparison.Ordinal);
    }

    [Fact]
    public async Task DecisionLog_ReadsTheDecisionsTheGovernanceStoreRecorded_AcrossRuns()
    {
        var clients = Clients();
        var governance = new TableGovernanceStore(clients, TimeProvider.System);
        await governance.Table.CreateIfNotExistsAsync(Ct);
        var now = DateTimeOffset.UtcNow;
        await governance.RecordDecisionAsync(Decision("run-a", "s1", now.AddHours(-2)), Ct);
        await governance.RecordDecisionAsync(Decision("run-a", "s2", now), Ct);
        await governance.RecordDecisionAsync(Decision("run-b", "s1", now), Ct);
        await governance.RecordApprovalAsync("run-a", "s2", new ApprovalDecision("approve", "bob", ["operator"], "sha256:args", null, now), Ct);
        await governance.BeginAsync("run-b", "s1", "sha256:args", TimeSpan.FromSeconds(5), Ct);
        var log = new TableDecisionLog(governance);

        var all = await log.ReadDecisionsAsync(null, 100, Ct).ToListAsync(Ct);
        var recent = await log.ReadDecisionsAsync(now.AddHours(-1), 100, Ct).ToListAsync(Ct);
        var capped = await log.ReadDecisionsAsync(null, 2, Ct).ToListAsync(Ct);

        Assert.Equal(["run-a/s1", "run-a/s2", "run-b/s1"], all.Select(d => $"{d.RunId}/{d.StepId}").Order());
        Assert.Equal(["run-a/s2", "run-b/s1"], recent.Select(d => $"{d.RunId}/{d.StepId}").Order());
        Assert.Equal(2, capped.Count);
        Assert.All(all, d => Assert.Equal("checkout", d.Request?.Target));
    }

    [Fact]
    public async Task Runtime_WithThePolicyStore_BootstrapsTheBaseline_AndTheGateFollowsActivationAndRollback()
    {
        var settings = new Dictionary<string, string?> { ["Agentic:Policy:RefreshSeconds"] = "0" };
        var runtime = await StartRuntimeAsync(settings, s => s.AddAgenticPolicyStore(new ConfigurationBuilder().AddInMemoryCollection(settings).Build()));
        var store = runtime.Services.GetRequiredService<IPolicyStore>();
        var bootstrapped = await store.GetActiveAsync(Ct);
        Assert.Equal(("baseline", ShippedPolicies.Baseline.Version, PolicyLifecycle.StartupPrincipal), (bootstrapped.Enforced?.Id, bootstrapped.Enforced?.Version, bootstrapped.Enforced?.ActivatedBy));
        Assert.IsType<StoredPolicyProvider>(runtime.Services.GetRequiredService<IPolicyProvider>());

        var permitted = await runtime.WaitTerminalAsync(await SubmitAsync(runtime, Requests.Diagnostics(Fleet.HealthyTarget(), 1)));
        Assert.True(permitted.Status == "completed", LocalRuntime.Describe(permitted));
        Assert.Equal(("baseline", ShippedPolicies.Baseline.Version), await DecidedByAsync(runtime, permitted.RunId));

        await store.SaveAsync("no-diagnostics", "1", Policy("no-diagnostics", "1", forbidden: "sample.diagnostics"), Admin, Ct);
        await store.ActivateAsync("no-diagnostics", "1", PolicyMode.Enforce, Admin, "diagnostics overload the fleet", Ct);
        var forbidden = await runtime.WaitTerminalAsync(await SubmitAsync(runtime, Requests.Diagnostics(Fleet.HealthyTarget(), 1)));
        AssertFailed(forbidden, "forbidden by no-diagnostics rule 'no-sample-diagnostics'");
        Assert.Equal(("no-diagnostics", "1"), await DecidedByAsync(runtime, forbidden.RunId));

        await store.RollbackAsync(Admin, "fleet recovered", Ct);
        var again = await runtime.WaitTerminalAsync(await SubmitAsync(runtime, Requests.Diagnostics(Fleet.HealthyTarget(), 1)));
        Assert.True(again.Status == "completed", LocalRuntime.Describe(again));
        Assert.Equal(("baseline", ShippedPolicies.Baseline.Version), await DecidedByAsync(runtime, again.RunId));
    }

    [Fact]
    public async Task Runtime_ConfiguredShadowPolicy_IsBootstrappedIntoTheShadowSlot_AndDecisionsRecordItsAnswer()
    {
        var path = Path.Combine(Path.GetTempPath(), $"agentic-shadow-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(path, Policy("candidate", "1", forbidden: "sample.diagnostics", mode: "shadow"), Ct);
        try
        {
            var settings = new Dictionary<string, string?> { ["Agentic:Policy:Path"] = path, ["Agentic:Policy:RefreshSeconds"] = "0" };
            var runtime = await StartRuntimeAsync(settings, s => s.AddAgenticPolicyStore(new ConfigurationBuilder().AddInMemoryCollection(settings).Build()));

            var active = await runtime.Services.GetRequiredService<IPolicyStore>().GetActiveAsync(Ct);
            Assert.Equal(("baseline", "candidate", PolicyLifecycle.StartupPrincipal), (active.Enforced?.Id, active.Shadow?.Id, active.Shadow?.ActivatedBy));

            var run = await runtime.WaitTerminalAsync(await SubmitAsync(runtime, Requests.Diagnostics(Fleet.HealthyTarget(), 1)));
            Assert.True(run.Status == "completed", LocalRuntime.Describe(run));
            var decision = await runtime.Governance.GetDecisionAsync(run.RunId, "s1", Ct);
            Assert.Equal((GateEffect.Permit, "baseline"), (decision?.Effect, decision?.PolicyId));
            Assert.Equal((GateEffect.Forbid, "candidate", "no-sample-diagnostics"), (decision?.Shadow?.Effect, decision?.Shadow?.PolicyId, decision?.Shadow?.Rule));
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static async Task<(string, string)> DecidedByAsync(LocalRuntime runtime, string runId)
    {
        var decision = await runtime.Governance.GetDecisionAsync(runId, "s1", Ct);
        Assert.NotNull(decision);
        return (decision.PolicyId, decision.PolicyVersion);
    }

    private static GateDecision Decision(string runId, string stepId, DateTimeOffset at) =>
        new(runId, stepId, "sample.diagnostics", "1.1.0", "sha256:args", GateEffect.Permit, "baseline", "3", "permit-read-only", "read-only", null, at, "sha256:b")
        {
            Request = new DecisionRequest("alice", [], "diagnostics", "autonomous", "sample.diagnostics", "1.1.0", RiskLevel.Low, Agentic.Core.Tools.SideEffect.ReadOnly, [],
                System.Text.Json.JsonDocument.Parse("{}").RootElement.Clone(), "checkout", "dev", at.UtcDateTime.Hour, 0, 0),
        };

    private async Task<TablePolicyStore> StoreAsync()
    {
        var store = new TablePolicyStore(Clients(), TimeProvider.System);
        await store.Table.CreateIfNotExistsAsync(Ct);
        return store;
    }

    private static async Task EnforceAsync(TablePolicyStore store, string id, string version, string? forbidden = null)
    {
        await store.SaveAsync(id, version, Policy(id, version, forbidden), Admin, Ct);
        await store.ActivateAsync(id, version, PolicyMode.Enforce, Admin, $"enforce {id}@{version}", Ct);
    }

    private StorageClients Clients(string? connectionString = null) => new(
        new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["AgenticStorage"] = connectionString ?? Azurite.ConnectionString }).Build(),
        Options.Create(new AgenticStorageOptions { HubName = Hub }));

    /// <summary>A policy permitting read-only tools (like the baseline), forbidding <paramref name="forbidden"/> first when given.</summary>
    private static string Policy(string id, string version, string? forbidden = null, string mode = "enforce")
    {
        var forbid = forbidden is null ? "" : $"  - id: no-{forbidden.Replace('.', '-')}\n    effect: forbid\n    when: tool.name == '{forbidden}'\n";
        return $"id: {id}\nversion: \"{version}\"\nmode: {mode}\nrules:\n{forbid}  - id: permit-read-only\n    effect: permit\n    when: tool.sideEffect == 'read-only'\n";
    }
}
