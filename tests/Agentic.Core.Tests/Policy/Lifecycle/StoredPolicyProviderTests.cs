using Agentic.Core.Policy.Language;
using Agentic.Core.Policy.Lifecycle;
using static Agentic.Core.Tests.Policy.Lifecycle.LifecycleFixtures;

namespace Agentic.Core.Tests.Policy.Lifecycle;

/// <summary>The gate's view of the stored policies: compiled once, refreshed within the interval, never stale after a failure.</summary>
public sealed class StoredPolicyProviderTests
{
    private readonly ManualClock _clock = new(T0);
    private readonly InMemoryPolicyStore _store;

    public StoredPolicyProviderTests() => _store = new InMemoryPolicyStore(_clock);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Get_NothingActive_Throws()
    {
        using var provider = new StoredPolicyProvider(_store, _clock, TimeSpan.Zero);

        var error = await Assert.ThrowsAsync<PolicyUnavailableException>(async () => await provider.GetAsync(Ct));

        Assert.Contains("No policy is active", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_AnswersTheEnforcedAndShadowPoliciesCompiled()
    {
        await Activate("p", "1", PolicyMode.Enforce);
        await Activate("q", "1", PolicyMode.Shadow);
        using var provider = new StoredPolicyProvider(_store, _clock, TimeSpan.Zero);

        var active = await provider.GetAsync(Ct);

        Assert.Equal(("p", "q"), (active.Enforced.Id, active.Shadow?.Id));
        Assert.Equal(PolicyLifecycle.Hash(Yaml("p", "1")), active.Enforced.ContentHash);
    }

    [Fact]
    public async Task Get_WithinTheInterval_AnswersTheCachedSetThenRefreshes()
    {
        await Activate("p", "1", PolicyMode.Enforce);
        using var provider = new StoredPolicyProvider(_store, _clock, TimeSpan.FromSeconds(2));
        var first = await provider.GetAsync(Ct);

        await Activate("p", "2", PolicyMode.Enforce);
        _clock.Advance(TimeSpan.FromSeconds(1));
        var cached = await provider.GetAsync(Ct);
        _clock.Advance(TimeSpan.FromSeconds(1.5));
        var refreshed = await provider.GetAsync(Ct);

        Assert.Same(first, cached);
        Assert.Equal("2", refreshed.Enforced.Version);
    }

    [Fact]
    public async Task Get_CompilesEachVersionOnce()
    {
        await Activate("p", "1", PolicyMode.Enforce);
        using var provider = new StoredPolicyProvider(_store, _clock, TimeSpan.Zero);

        var first = await provider.GetAsync(Ct);
        await Activate("p", "2", PolicyMode.Enforce);
        await provider.GetAsync(Ct);
        await _store.RollbackAsync("alice", "back", Ct);
        var back = await provider.GetAsync(Ct);

        Assert.Same(first.Enforced, back.Enforced);
    }

    [Fact]
    public async Task Get_StoreFailsAfterAGoodRead_ThrowsOnceTheIntervalIsOver()
    {
        await Activate("p", "1", PolicyMode.Enforce);
        var flaky = new FlakyStore(_store);
        using var provider = new StoredPolicyProvider(flaky, _clock, TimeSpan.FromSeconds(2));
        await provider.GetAsync(Ct);

        flaky.Down = true;
        _clock.Advance(TimeSpan.FromSeconds(3));
        var error = await Assert.ThrowsAsync<PolicyUnavailableException>(async () => await provider.GetAsync(Ct));
        var again = await Assert.ThrowsAsync<PolicyUnavailableException>(async () => await provider.GetAsync(Ct));

        Assert.Contains("store down", error.Message, StringComparison.Ordinal);
        Assert.IsType<HttpRequestException>(again.InnerException);
        flaky.Down = false;
        Assert.Equal("p", (await provider.GetAsync(Ct)).Enforced.Id);
    }

    [Fact]
    public async Task Get_StoredVersionThatNoLongerCompiles_Throws()
    {
        // The store keeps text without compiling it; a language that got stricter can leave an active version behind.
        var broken = "id: p\nversion: \"1\"\nrules:\n  - id: r\n    effect: permit\n    when: tool.colour == 'red'\n";
        await _store.SaveAsync("p", "1", broken, "alice", Ct);
        await _store.ActivateAsync("p", "1", PolicyMode.Enforce, "alice", "test", Ct);
        using var provider = new StoredPolicyProvider(_store, _clock, TimeSpan.Zero);

        var error = await Assert.ThrowsAsync<PolicyUnavailableException>(async () => await provider.GetAsync(Ct));

        Assert.Contains("no longer compiles", error.Message, StringComparison.Ordinal);
        Assert.Contains("unknown-attribute", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_StoredTextThatNoLongerMatchesItsHash_Throws()
    {
        await Activate("p", "1", PolicyMode.Enforce);
        var tampered = new FlakyStore(_store) { Override = Yaml("p", "1", forbidden: "sample.health") };
        using var provider = new StoredPolicyProvider(tampered, _clock, TimeSpan.Zero);

        var error = await Assert.ThrowsAsync<PolicyUnavailableException>(async () => await provider.GetAsync(Ct));

        Assert.Contains("does not have the hash", error.Message, StringComparison.Ordinal);
    }

    private async Task Activate(string id, string version, PolicyMode mode)
    {
        await _store.SaveAsync(id, version, Yaml(id, version), "alice", Ct);
        await _store.ActivateAsync(id, version, mode, "alice", "test", Ct);
    }

    /// <summary>A store that can be taken down, or made to answer other text for every version.</summary>
    private sealed class FlakyStore(IPolicyStore inner) : IPolicyStore
    {
        public bool Down { get; set; }

        public string? Override { get; init; }

        public Task<PolicySaveResult> SaveAsync(string id, string version, string yaml, string savedBy, CancellationToken cancellationToken) => inner.SaveAsync(id, version, yaml, savedBy, cancellationToken);

        public async Task<StoredPolicy?> GetAsync(string id, string version, CancellationToken cancellationToken)
        {
            Check();
            var stored = await inner.GetAsync(id, version, cancellationToken);
            return stored is null || Override is null ? stored : stored with { Yaml = Override };
        }

        public Task<IReadOnlyList<PolicyVersionInfo>> ListAsync(string? id, CancellationToken cancellationToken) => inner.ListAsync(id, cancellationToken);

        public Task<ActivePolicySet> GetActiveAsync(CancellationToken cancellationToken)
        {
            Check();
            return inner.GetActiveAsync(cancellationToken);
        }

        public Task<ActivePolicySet> ActivateAsync(string id, string version, PolicyMode mode, string by, string reason, CancellationToken cancellationToken) => inner.ActivateAsync(id, version, mode, by, reason, cancellationToken);

        public Task<ActivePolicySet?> ClearShadowAsync(string by, string reason, CancellationToken cancellationToken) => inner.ClearShadowAsync(by, reason, cancellationToken);

        public Task<ActivePolicySet> RollbackAsync(string by, string reason, CancellationToken cancellationToken) => inner.RollbackAsync(by, reason, cancellationToken);

        public Task<IReadOnlyList<PolicyEvent>> HistoryAsync(int max, CancellationToken cancellationToken) => inner.HistoryAsync(max, cancellationToken);

        private void Check()
        {
            if (Down)
            {
                throw new HttpRequestException("store down");
            }
        }
    }
}
