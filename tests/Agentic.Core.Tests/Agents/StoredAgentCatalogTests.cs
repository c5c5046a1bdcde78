using Agentic.Core.Activities;
using Agentic.Core.Agents;
using Agentic.Core.Agents.Lifecycle;
using Agentic.Core.Json;
using Agentic.Core.Tests.Runs;
using Microsoft.Extensions.Time.Testing;
using static Agentic.Core.Tests.Agents.AgentFixtures;

namespace Agentic.Core.Tests.Agents;

/// <summary>
/// A host's offer from its shipped agents and the agent store: a snapshot swapped whole when the active set changes,
/// no staler than the refresh interval, never stale after a failure; and the exact version each run was admitted with.
/// </summary>
public sealed class StoredAgentCatalogTests : IDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);
    private readonly FakeTimeProvider _clock = new(T0);
    private readonly InMemoryAgentStore _store;
    private readonly FlakyStore _flaky;
    private readonly StoredAgentCatalog _catalog;

    public StoredAgentCatalogTests()
    {
        _store = new InMemoryAgentStore(_clock);
        _flaky = new FlakyStore(_store);
        _catalog = new StoredAgentCatalog(Shipped, _flaky, Checks, _clock, Interval);
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _catalog.Dispose();

    [Fact]
    public async Task Get_NothingUploaded_OffersTheShippedAgents()
    {
        var offer = await _catalog.GetAsync(Ct);

        Assert.Equal(Shipped.Names, offer.Names);
        Assert.All(offer.Agents, a => Assert.Same(Shipped.Get(a.Name), a));
    }

    [Fact]
    public async Task Get_AfterAnActivation_OffersTheNewNameWithWhoUploadedAndActivatedIt()
    {
        await UploadAsync(Agent("janitor", "1"), "alice");
        _clock.Advance(TimeSpan.FromMinutes(1));
        await _store.ActivateAsync("janitor", "1", "bob", "offer the janitor", Ct);

        var janitor = (await _catalog.GetAsync(Ct)).Get("janitor");

        Assert.Equal(("1", AgentLifecycle.Hash(Agent("janitor", "1")), "janitor@1"), (janitor.Version, janitor.Hash, janitor.Source));
        Assert.Equal(new AgentUpload("alice", T0, "bob", T0.AddMinutes(1), "offer the janitor"), janitor.Upload);
        Assert.Equal(Shipped.Names.Append("janitor").Order(StringComparer.Ordinal), (await _catalog.GetAsync(Ct)).Names);
    }

    [Fact]
    public async Task Get_WithinTheInterval_AnswersTheSameSnapshot_AndAfterItTheNewOne()
    {
        var before = await _catalog.GetAsync(Ct);
        await ActivateAsync(Agent("janitor", "1"));

        _clock.Advance(TimeSpan.FromSeconds(1));
        var cached = await _catalog.GetAsync(Ct);
        _clock.Advance(TimeSpan.FromSeconds(1.5));
        var after = await _catalog.GetAsync(Ct);

        Assert.Same(before, cached);
        Assert.False(before.Contains("janitor"));
        Assert.True(after.Contains("janitor"));
    }

    [Fact]
    public async Task Get_ActiveSetUnchanged_KeepsTheSnapshotAndReadsNoVersionAgain()
    {
        await ActivateAsync(Agent("janitor", "1"));
        var first = await _catalog.GetAsync(Ct);
        var reads = _store.VersionReads;

        _clock.Advance(Interval * 3);
        var second = await _catalog.GetAsync(Ct);

        Assert.Same(first, second);
        Assert.Equal(reads, _store.VersionReads);
        Assert.Equal(2, _store.ActiveReads);
    }

    [Fact]
    public async Task Get_WhileReadersHoldTheOldSnapshot_SwapsInTheNewOneWhole()
    {
        await ActivateAsync(Agent("janitor", "1", targets: "[{ scheme: https, host: svc.test, paths: ['/old/**'] }]"));
        var old = await _catalog.GetAsync(Ct);
        await ActivateAsync(Agent("janitor", "2", targets: "[{ scheme: https, host: svc.test, paths: ['/new/**'] }]"));
        await ActivateAsync(Agent("archivist", "1"));
        _clock.Advance(Interval);

        var seen = await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => Task.Run(async () => await _catalog.GetAsync(Ct), Ct)));

        var now = Assert.Single(seen.Distinct());
        Assert.Equal(("2", "/new/**", true), (now.Get("janitor").Version, now.Get("janitor").Targets![0].Paths[0], now.Contains("archivist")));
        // The snapshot a reader held is unchanged: the janitor it names is the one whose targets it checked.
        Assert.Equal(("1", "/old/**", false), (old.Get("janitor").Version, old.Get("janitor").Targets![0].Paths[0], old.Contains("archivist")));
    }

    [Fact]
    public async Task Get_AfterADeactivation_NoLongerOffersTheAgent()
    {
        await ActivateAsync(Agent("janitor", "1"));
        await _catalog.GetAsync(Ct);

        await _store.DeactivateAsync("janitor", "bob", "retired", Ct);
        _clock.Advance(Interval);

        Assert.False((await _catalog.GetAsync(Ct)).Contains("janitor"));
    }

    [Fact]
    public async Task Get_ANewerVersionOfAShippedAgent_ReplacesIt_AndAnOlderOneIsNotOffered()
    {
        await ActivateAsync(Agent("diagnostics", "2", description: "Uploaded diagnostics."));
        var newer = (await _catalog.GetAsync(Ct)).Get("diagnostics");

        // Activated behind the API's back (a store written by another deployment): the shipped version stays the floor.
        await UploadAsync(Agent("diagnostics", "0.5"), "alice");
        await _store.ActivateAsync("diagnostics", "0.5", "alice", "older", Ct);
        _clock.Advance(Interval);
        var floor = (await _catalog.GetAsync(Ct)).Get("diagnostics");

        Assert.Equal(("2", "Uploaded diagnostics."), (newer.Version, newer.Description));
        Assert.Same(Shipped.Get("diagnostics"), floor);
    }

    [Fact]
    public async Task Get_AnActiveUploadThatNoLongerChecks_IsLeftOut_AndTheRestOfTheOfferStands()
    {
        await ActivateAsync(Agent("janitor", "1"));
        await UploadAsync(Agent("sweeper", "1", tool: "sample.sweep"), "alice");
        await _store.ActivateAsync("sweeper", "1", "alice", "a tool this deployment does not have", Ct);

        var offer = await _catalog.GetAsync(Ct);

        Assert.True(offer.Contains("janitor"));
        Assert.False(offer.Contains("sweeper"));
    }

    [Fact]
    public async Task Get_StoreDownAfterAGoodRead_ThrowsOnceTheIntervalIsOver_AndRecovers()
    {
        await ActivateAsync(Agent("janitor", "1"));
        await _catalog.GetAsync(Ct);

        _flaky.Down = true;
        var within = await _catalog.GetAsync(Ct);
        _clock.Advance(Interval);
        var error = await Assert.ThrowsAsync<AgentCatalogUnavailableException>(async () => await _catalog.GetAsync(Ct));
        _flaky.Down = false;

        Assert.True(within.Contains("janitor"));
        Assert.Contains("The agent store could not answer", error.Message, StringComparison.Ordinal);
        Assert.True((await _catalog.GetAsync(Ct)).Contains("janitor"));
    }

    [Fact]
    public async Task Resolve_TheVersionARunWasAdmittedWith_AfterANewerOneIsActivated_IsThatVersion()
    {
        await ActivateAsync(Agent("janitor", "1", targets: "[{ scheme: https, host: svc.test, paths: ['/v1/**'] }]"));
        var admitted = (await _catalog.GetAsync(Ct)).Get("janitor");
        await ActivateAsync(Agent("janitor", "2", targets: "[{ scheme: https, host: svc.test, paths: ['/v2/**'] }]"));
        _clock.Advance(Interval);
        Assert.Equal("2", (await _catalog.GetAsync(Ct)).Get("janitor").Version);

        using var fresh = new StoredAgentCatalog(Shipped, _store, Checks, _clock, Interval);
        var resolved = await fresh.ResolveAsync("janitor", "1", admitted.Hash, Ct);
        var again = await fresh.ResolveAsync("janitor", "1", admitted.Hash, Ct);
        var current = await fresh.ResolveAsync("janitor", null, null, Ct);

        Assert.Equal(("1", "/v1/**"), (resolved!.Version, resolved.Targets![0].Paths[0]));
        Assert.Same(resolved, again);
        Assert.Equal("2", current!.Version);
    }

    [Fact]
    public async Task Resolve_AVersionNotStoredOrStoredWithOtherText_IsUnavailable()
    {
        await ActivateAsync(Agent("janitor", "1"));

        var missing = await Assert.ThrowsAsync<AgentUnavailableException>(async () => await _catalog.ResolveAsync("janitor", "7", null, Ct));
        var other = await Assert.ThrowsAsync<AgentUnavailableException>(async () => await _catalog.ResolveAsync("janitor", "1", "sha256:" + new string('0', 64), Ct));

        Assert.Equal("Agent janitor@7 is not stored.", missing.Message);
        Assert.Contains("not the sha256:000", other.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PlanActivity_ForARunAdmittedUnderV1_PlansWithV1_AfterV2IsActivated()
    {
        await ActivateAsync(Agent("janitor", "1", tool: "sample.diagnostics"));
        var v1 = (await _catalog.GetAsync(Ct)).Get("janitor");
        await ActivateAsync(Agent("janitor", "2", tool: "sample.health"));
        _clock.Advance(Interval);
        var input = new PlanInput("run-1", "janitor", null, "https://svc.test/a", null, new Observation("probe", T0, "sha256:e", true, "ok", AgenticJson.ToElement(new { })))
        {
            AgentVersion = v1.Version,
            AgentHash = v1.Hash,
        };
        var plan = new PlanActivity(_catalog, Agentic.Testing.TestAudit.InMemoryLog(), _clock);

        var planned = AgenticJson.FromElement<Plan>(await plan.RunAsync(AgenticJson.ToElement(input), new ActivityContext("run-1", "plan", 1), Ct));

        Assert.Equal(("1", v1.Hash, "sample.diagnostics"), (planned.AgentVersion, planned.AgentHash, planned.Steps.Single().Tool));
        Assert.Equal("2", (await _catalog.GetAsync(Ct)).Get("janitor").Version);
    }

    [Fact]
    public async Task Admission_FollowsTheRefreshedCatalog_ForAgentsAndTheirTargetNarrowing()
    {
        var admissions = new Agentic.Core.Runs.RunAdmissions(_catalog, "dev", Admissions.Default.Targets);
        await ActivateAsync(Agent("janitor", "1", targets: "[{ scheme: https, host: svc.test, paths: ['/v1/**'] }]"));
        var v1 = await admissions.CurrentAsync(Ct);
        await ActivateAsync(Agent("janitor", "2", targets: "[{ scheme: https, host: svc.test, paths: ['/v2/**'] }]"));
        _clock.Advance(Interval);
        var v2 = await admissions.CurrentAsync(Ct);

        Assert.NotNull(v1.Targets.Check("https://svc.test/v1/a", v1.Agents.Get("janitor"), out _));
        Assert.Null(v2.Targets.Check("https://svc.test/v1/a", v2.Agents.Get("janitor"), out var reason));
        Assert.Equal("no rule of agent 'janitor''s targets allows https://svc.test:443/v1/a", reason);
        Assert.Same(v2, await admissions.CurrentAsync(Ct));
    }

    private async Task UploadAsync(string yaml, string by)
    {
        var agent = AgentLoader.Load(yaml, "agent");
        await _store.SaveAsync(agent.Name, agent.Version!, yaml, by, Ct);
    }

    private async Task ActivateAsync(string yaml)
    {
        var agent = AgentLoader.Load(yaml, "agent");
        await UploadAsync(yaml, "alice");
        await _store.ActivateAsync(agent.Name, agent.Version!, "alice", "test", Ct);
    }

    private sealed class FlakyStore(IAgentStore inner) : IAgentStore
    {
        public bool Down { get; set; }

        public Task<AgentSaveResult> SaveAsync(string name, string version, string yaml, string savedBy, CancellationToken cancellationToken) => inner.SaveAsync(name, version, yaml, savedBy, cancellationToken);

        public Task<StoredAgent?> GetAsync(string name, string version, CancellationToken cancellationToken)
        {
            ThrowIfDown();
            return inner.GetAsync(name, version, cancellationToken);
        }

        public Task<IReadOnlyList<AgentVersionInfo>> ListAsync(string? name, CancellationToken cancellationToken) => inner.ListAsync(name, cancellationToken);

        public Task<ActiveAgentSet> GetActiveAsync(CancellationToken cancellationToken)
        {
            ThrowIfDown();
            return inner.GetActiveAsync(cancellationToken);
        }

        public Task<ActiveAgentSet> ActivateAsync(string name, string version, string by, string reason, CancellationToken cancellationToken) => inner.ActivateAsync(name, version, by, reason, cancellationToken);

        public Task<ActiveAgentSet?> DeactivateAsync(string name, string by, string reason, CancellationToken cancellationToken) => inner.DeactivateAsync(name, by, reason, cancellationToken);

        public Task<IReadOnlyList<AgentEvent>> HistoryAsync(string? name, int max, CancellationToken cancellationToken) => inner.HistoryAsync(name, max, cancellationToken);

        private void ThrowIfDown()
        {
            if (Down)
            {
                throw new IOException("storage unreachable");
            }
        }
    }
}
