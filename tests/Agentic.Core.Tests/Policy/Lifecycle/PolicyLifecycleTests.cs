using Agentic.Core.Policy.Language;
using Agentic.Core.Policy.Lifecycle;
using static Agentic.Core.Tests.Policy.Lifecycle.LifecycleFixtures;

namespace Agentic.Core.Tests.Policy.Lifecycle;

/// <summary>The rules every policy store applies (<see cref="PolicyLifecycle"/>), driven through the in-memory store.</summary>
public sealed class PolicyLifecycleTests
{
    private readonly ManualClock _clock = new(T0);
    private readonly InMemoryPolicyStore _store;

    public PolicyLifecycleTests() => _store = new InMemoryPolicyStore(_clock);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Save_SameVersionOtherText_IsAConflictAndTheFirstTextStays()
    {
        var first = Yaml("p", "1");
        await SaveAsync(_store, first);

        await Assert.ThrowsAsync<PolicyConflictException>(() => _store.SaveAsync("p", "1", Yaml("p", "1", forbidden: "x.y"), "mallory", Ct));

        Assert.Equal(first, (await _store.GetAsync("p", "1", Ct))!.Yaml);
    }

    [Fact]
    public async Task Save_SameVersionSameText_IsIdempotent()
    {
        var created = await _store.SaveAsync("p", "1", Yaml("p", "1"), "alice", Ct);
        var again = await _store.SaveAsync("p", "1", Yaml("p", "1"), "bob", Ct);

        Assert.True(created.Created);
        Assert.False(again.Created);
        Assert.Equal("alice", again.Version.SavedBy);
    }

    [Theory]
    [InlineData("p", "1/2")]
    [InlineData("p", "")]
    [InlineData("-p", "1")]
    [InlineData("p", "1 beta")]
    public async Task Save_IdOrVersionThatCanNotNameAStoredVersion_IsRefused(string id, string version)
    {
        await Assert.ThrowsAsync<ArgumentException>(() => _store.SaveAsync(id, version, "id: x", "alice", Ct));
    }

    [Fact]
    public async Task Activate_RecordsWhoWhenAndWhyAndKeepsThePreviousVersion()
    {
        await Enforce("p", "1", "alice");
        _clock.Advance(TimeSpan.FromMinutes(5));

        var active = await Enforce("p", "2", "bob", "stricter restarts");

        Assert.Equal(("p", "2", "bob", T0.AddMinutes(5), "stricter restarts"), (active.Enforced!.Id, active.Enforced.Version, active.Enforced.ActivatedBy, active.Enforced.ActivatedAt, active.Enforced.Reason));
        Assert.Equal("p@1", Assert.Single(active.Previous).ToString());
        var latest = (await _store.HistoryAsync(10, Ct))[0];
        Assert.Equal((PolicyActions.Activate, "p", "2", "bob", "p@1"), (latest.Action, latest.Id, latest.Version, latest.By, latest.Replaced));
    }

    [Fact]
    public async Task Activate_TheEnforcedVersionAgain_ChangesAndRecordsNothing()
    {
        var first = await Enforce("p", "1", "alice");

        var again = await Enforce("p", "1", "bob");

        Assert.Equal(first, again);
        Assert.Single(await _store.HistoryAsync(10, Ct));
    }

    [Fact]
    public async Task Activate_UnknownVersion_IsNotFound()
    {
        await Assert.ThrowsAsync<PolicyNotFoundException>(() => _store.ActivateAsync("p", "9", PolicyMode.Enforce, "alice", "x", Ct));
    }

    [Fact]
    public async Task Activate_WithoutReason_IsRefused()
    {
        await SaveAsync(_store, Yaml("p", "1"));

        await Assert.ThrowsAsync<ArgumentException>(() => _store.ActivateAsync("p", "1", PolicyMode.Enforce, "alice", " ", Ct));
    }

    [Fact]
    public async Task Rollback_ReturnsToThePreviousVersion_AndRepeatedRollbacksGoFurtherBack()
    {
        await Enforce("p", "1", "alice");
        await Enforce("p", "2", "alice");
        await Enforce("p", "3", "alice");

        var once = await _store.RollbackAsync("carol", "v3 blocks restarts", Ct);
        var twice = await _store.RollbackAsync("carol", "v2 too", Ct);

        Assert.Equal(("2", "carol", "v3 blocks restarts"), (once.Enforced!.Version, once.Enforced.ActivatedBy, once.Enforced.Reason));
        Assert.Equal("1", twice.Enforced!.Version);
        Assert.Empty(twice.Previous);
        await Assert.ThrowsAsync<PolicyConflictException>(() => _store.RollbackAsync("carol", "again", Ct));
        var history = await _store.HistoryAsync(10, Ct);
        Assert.Equal([PolicyActions.Rollback, PolicyActions.Rollback, PolicyActions.Activate, PolicyActions.Activate, PolicyActions.Activate], history.Select(h => h.Action));
        Assert.Equal("p@3", history[1].Replaced);
    }

    [Fact]
    public async Task Rollback_NothingEverEnforced_IsAConflict()
    {
        await Assert.ThrowsAsync<PolicyConflictException>(() => _store.RollbackAsync("carol", "x", Ct));
    }

    [Fact]
    public async Task Shadow_ActivatedThenCleared_IsRecordedBothTimes()
    {
        await Enforce("p", "1", "alice");
        await SaveAsync(_store, Yaml("q", "1", forbidden: "sample.restart"));

        var shadowed = await _store.ActivateAsync("q", "1", PolicyMode.Shadow, "alice", "try q", Ct);
        var cleared = await _store.ClearShadowAsync("bob", "q is too strict", Ct);
        var none = await _store.ClearShadowAsync("bob", "again", Ct);

        Assert.Equal(("q", "alice"), (shadowed.Shadow?.Id, shadowed.Shadow?.ActivatedBy));
        Assert.Equal(("p", "1"), (shadowed.Enforced?.Id, shadowed.Enforced?.Version));
        Assert.Null(cleared!.Shadow);
        Assert.Null(none);
        var history = await _store.HistoryAsync(10, Ct);
        Assert.Equal((PolicyActions.ClearShadow, "q", PolicyMode.Shadow, "bob", "q is too strict"), (history[0].Action, history[0].Id, history[0].Mode, history[0].By, history[0].Reason));
        Assert.Equal((PolicyActions.Activate, PolicyMode.Shadow), (history[1].Action, history[1].Mode));
    }

    [Fact]
    public async Task EnforcingTheShadowVersion_ClearsTheShadowSlot()
    {
        await Enforce("p", "1", "alice");
        await SaveAsync(_store, Yaml("q", "1"));
        await _store.ActivateAsync("q", "1", PolicyMode.Shadow, "alice", "try q", Ct);

        var promoted = await _store.ActivateAsync("q", "1", PolicyMode.Enforce, "alice", "q is right", Ct);

        Assert.Equal("q", promoted.Enforced?.Id);
        Assert.Null(promoted.Shadow);
        Assert.Equal("p@1", Assert.Single(promoted.Previous).ToString());
    }

    [Fact]
    public async Task ShadowingTheEnforcedVersion_IsAConflict()
    {
        await Enforce("p", "1", "alice");

        await Assert.ThrowsAsync<PolicyConflictException>(() => _store.ActivateAsync("p", "1", PolicyMode.Shadow, "alice", "x", Ct));
    }

    [Fact]
    public async Task Previous_IsBounded()
    {
        for (var i = 1; i <= PolicyLifecycle.MaxPrevious + 5; i++)
        {
            await Enforce("p", i.ToString(System.Globalization.CultureInfo.InvariantCulture), "alice");
        }

        var active = await _store.GetActiveAsync(Ct);

        Assert.Equal(PolicyLifecycle.MaxPrevious, active.Previous.Count);
        Assert.Equal((PolicyLifecycle.MaxPrevious + 4).ToString(System.Globalization.CultureInfo.InvariantCulture), active.Previous[0].Version);
    }

    private async Task<ActivePolicySet> Enforce(string id, string version, string by, string reason = "because")
    {
        await _store.SaveAsync(id, version, Yaml(id, version), by, Ct);
        return await _store.ActivateAsync(id, version, PolicyMode.Enforce, by, reason, Ct);
    }
}
