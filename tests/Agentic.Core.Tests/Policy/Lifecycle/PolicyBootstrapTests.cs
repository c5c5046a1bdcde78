using Agentic.Core.Policy.Language;
using Agentic.Core.Policy.Lifecycle;
using static Agentic.Core.Tests.Policy.Lifecycle.LifecycleFixtures;

namespace Agentic.Core.Tests.Policy.Lifecycle;

/// <summary>What the start-up bootstrap puts in force, for each state of the store and each configuration.</summary>
public sealed class PolicyBootstrapTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task EmptyStore_NoPath_StoresAndEnforcesTheBaselineAsHostStartup()
    {
        var store = new InMemoryPolicyStore(new ManualClock(T0));

        var steps = await new PolicyBootstrap(store).RunAsync(PolicyBootstrap.Baseline, Ct);

        var active = await store.GetActiveAsync(Ct);
        Assert.Equal(PolicyMode.Enforce, Assert.Single(steps).Mode);
        Assert.True(active.Enforced!.Is("baseline", PolicyBootstrap.Baseline.Policy.Version));
        Assert.Equal(PolicyBootstrap.Baseline.Policy.ContentHash, active.Enforced.ContentHash);
        Assert.Equal(PolicyLifecycle.StartupPrincipal, active.Enforced.ActivatedBy);
        Assert.Null(active.Shadow);
        var saved = Assert.Single(await store.ListAsync(null, Ct));
        Assert.Equal(PolicyLifecycle.StartupPrincipal, saved.SavedBy);
        Assert.Equal(PolicyBootstrap.Baseline.Yaml, (await store.GetAsync("baseline", saved.Version, Ct))!.Yaml);
        var entry = Assert.Single(await store.HistoryAsync(10, Ct));
        Assert.Equal((PolicyActions.Activate, PolicyLifecycle.StartupPrincipal, PolicyMode.Enforce), (entry.Action, entry.By, entry.Mode));
    }

    [Fact]
    public async Task SecondStart_SamePolicy_ChangesNothing()
    {
        var store = new InMemoryPolicyStore(new ManualClock(T0));
        var configured = Configured(Yaml("strict", "1"));
        await new PolicyBootstrap(store).RunAsync(configured, Ct);

        var steps = await new PolicyBootstrap(store).RunAsync(configured, Ct);

        Assert.Empty(steps);
        Assert.Single(await store.HistoryAsync(10, Ct));
        Assert.Equal(1, (await store.GetActiveAsync(Ct)).Sequence);
    }

    [Fact]
    public void Plan_NoPath_KeepsAVersionAnAdminActivated()
    {
        var active = new ActivePolicySet(new PolicySlot("strict", "4", "sha256:x", "admin-1", T0, "tightened"), null, [], 5);

        Assert.Empty(PolicyBootstrap.Plan(active, PolicyBootstrap.Baseline, PolicyBootstrap.Baseline));
    }

    [Fact]
    public void Plan_ExplicitPathDifferentFromTheEnforcedVersion_EnforcesTheConfiguredPolicy()
    {
        var configured = Configured(Yaml("strict", "2"), "policies/strict.yaml");
        var active = new ActivePolicySet(new PolicySlot("strict", "1", "sha256:old", "admin-1", T0, "x"), null, [], 3);

        var step = Assert.Single(PolicyBootstrap.Plan(active, configured, PolicyBootstrap.Baseline));

        Assert.Same(configured, step.Policy);
        Assert.Equal(PolicyMode.Enforce, step.Mode);
        Assert.Contains("policies/strict.yaml", step.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_ExplicitPathSameIdAndVersionButOtherHash_EnforcesTheConfiguredPolicy()
    {
        var configured = Configured(Yaml("strict", "1"));
        var active = new ActivePolicySet(new PolicySlot("strict", "1", "sha256:other", "admin-1", T0, "x"), null, [], 3);

        Assert.Single(PolicyBootstrap.Plan(active, configured, PolicyBootstrap.Baseline));
    }

    [Fact]
    public void Plan_ExplicitPathAlreadyEnforced_DoesNothing()
    {
        var configured = Configured(Yaml("strict", "1"));
        var active = new ActivePolicySet(new PolicySlot("strict", "1", configured.Policy.ContentHash, "host:startup", T0, "x"), null, [], 1);

        Assert.Empty(PolicyBootstrap.Plan(active, configured, PolicyBootstrap.Baseline));
    }

    [Fact]
    public async Task ShadowModePolicy_OnAnEmptyStore_EnforcesTheBaselineAndShadowsTheConfiguredPolicy()
    {
        var store = new InMemoryPolicyStore(new ManualClock(T0));
        var configured = Configured(Yaml("candidate", "1", forbidden: "sample.restart", mode: "shadow"));

        await new PolicyBootstrap(store).RunAsync(configured, Ct);

        var active = await store.GetActiveAsync(Ct);
        Assert.Equal("baseline", active.Enforced?.Id);
        Assert.True(active.Shadow!.Is("candidate", "1"));
        Assert.Equal(PolicyLifecycle.StartupPrincipal, active.Shadow.ActivatedBy);
        Assert.Equal([PolicyMode.Shadow, PolicyMode.Enforce], (await store.HistoryAsync(10, Ct)).Select(e => e.Mode));
    }

    [Fact]
    public async Task ShadowModePolicy_WithAnEnforcedPolicy_KeepsItAndFillsTheShadowSlot()
    {
        var store = new InMemoryPolicyStore(new ManualClock(T0));
        await store.ActivateAsync((await SaveAsync(store, Yaml("strict", "1"))).Id, "1", PolicyMode.Enforce, "admin-1", "ours", Ct);

        var steps = await new PolicyBootstrap(store).RunAsync(Configured(Yaml("candidate", "1", mode: "shadow")), Ct);

        Assert.Equal(PolicyMode.Shadow, Assert.Single(steps).Mode);
        var active = await store.GetActiveAsync(Ct);
        Assert.Equal(("strict", "admin-1", "candidate"), (active.Enforced?.Id, active.Enforced?.ActivatedBy, active.Shadow?.Id));
    }

    [Fact]
    public async Task ConfiguredVersionStoredWithOtherText_FailsTheStartWithAConflict()
    {
        var store = new InMemoryPolicyStore(new ManualClock(T0));
        await SaveAsync(store, Yaml("strict", "1"));

        var conflict = await Assert.ThrowsAsync<PolicyConflictException>(() => new PolicyBootstrap(store).RunAsync(Configured(Yaml("strict", "1", forbidden: "sample.scale")), Ct));

        Assert.Contains("strict@1", conflict.Message, StringComparison.Ordinal);
        Assert.Equal(ActivePolicySet.Empty, await store.GetActiveAsync(Ct));
    }

    [Fact]
    public void Load_NoPath_IsTheBaselineAndNotExplicit()
    {
        var baseline = PolicyBootstrap.Load(null);

        Assert.False(baseline.Explicit);
        Assert.Equal(Agentic.Core.Policy.ShippedPolicies.Baseline.ContentHash, baseline.Policy.ContentHash);
        Assert.Equal(PolicyLifecycle.Hash(baseline.Yaml), baseline.Policy.ContentHash);
    }

    [Fact]
    public void Load_MissingFile_FailsWithAFileNotFoundDiagnostic()
    {
        var error = Assert.Throws<PolicyLoadException>(() => PolicyBootstrap.Load("no/such/policy.yaml"));

        Assert.Equal(DiagnosticCodes.FileNotFound, Assert.Single(error.Diagnostics).Code);
    }

    [Fact]
    public void Load_File_KeepsItsExactText()
    {
        var path = Path.Combine(Path.GetTempPath(), $"agentic-bootstrap-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, Yaml("strict", "9"));
        try
        {
            var configured = PolicyBootstrap.Load(path);

            Assert.True(configured.Explicit);
            Assert.Equal(File.ReadAllText(path), configured.Yaml);
            Assert.Equal(PolicyLifecycle.Hash(configured.Yaml), configured.Policy.ContentHash);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
