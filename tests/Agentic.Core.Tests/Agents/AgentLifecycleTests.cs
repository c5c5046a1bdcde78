using Agentic.Core.Agents;
using Agentic.Core.Agents.Lifecycle;
using Agentic.Core.Runs;
using Agentic.Core.Tests.Runs;
using Microsoft.Extensions.Time.Testing;
using static Agentic.Core.Tests.Agents.AgentFixtures;

namespace Agentic.Core.Tests.Agents;

/// <summary>
/// The agent store's rules (in memory, the same <see cref="AgentLifecycle"/> the table store applies): immutable versions
/// by name and version, activation and deactivation with who and why, the history, and the rule that keeps shipped
/// agents the base.
/// </summary>
public sealed class AgentLifecycleTests
{
    private readonly FakeTimeProvider _clock = new(T0);
    private readonly InMemoryAgentStore _store;

    public AgentLifecycleTests() => _store = new InMemoryAgentStore(_clock);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Save_SameTextAgain_IsAlreadyStored_AndOtherTextUnderTheVersionIsAConflict()
    {
        var text = Agent("janitor", "1");

        var created = await _store.SaveAsync("janitor", "1", text, "alice", Ct);
        _clock.Advance(TimeSpan.FromMinutes(1));
        var again = await _store.SaveAsync("janitor", "1", text, "bob", Ct);
        var conflict = await Assert.ThrowsAsync<AgentConflictException>(() => _store.SaveAsync("janitor", "1", Agent("janitor", "1", description: "Other."), "mallory", Ct));

        Assert.True(created.Created);
        Assert.False(again.Created);
        Assert.Equal(("alice", T0), (again.Version.SavedBy, again.Version.SavedAt));
        Assert.Contains("janitor@1 is already stored with other text", conflict.Message, StringComparison.Ordinal);
        var stored = await _store.GetAsync("janitor", "1", Ct);
        Assert.Equal(text, stored!.Yaml);
        Assert.Equal(AgentLifecycle.Hash(text), stored.Info.ContentHash);
        Assert.Equal(AgentLoader.Load(text, "agent").Hash, stored.Info.ContentHash);
    }

    [Theory]
    [InlineData("janitor", "1/..", "version")]
    [InlineData("janitor", "", "version")]
    [InlineData("-janitor", "1", "name")]
    [InlineData("jani tor", "1", "name")]
    public async Task Save_NameOrVersionThatCanNotNameARow_IsRefused(string name, string version, string parameter)
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => _store.SaveAsync(name, version, Agent("janitor", "1"), "alice", Ct));

        Assert.Equal(parameter, error.ParamName);
        Assert.Empty(await _store.ListAsync(null, Ct));
    }

    [Fact]
    public async Task Activate_AVersion_OffersItWithWhoAndWhy_AndANewerOneReplacesIt()
    {
        await _store.SaveAsync("janitor", "1", Agent("janitor", "1"), "alice", Ct);
        await _store.SaveAsync("janitor", "2", Agent("janitor", "2"), "alice", Ct);

        var first = await _store.ActivateAsync("janitor", "1", "alice", "offer the janitor", Ct);
        _clock.Advance(TimeSpan.FromMinutes(5));
        var second = await _store.ActivateAsync("janitor", "2", "bob", "v2 cleans faster", Ct);

        Assert.Equal(("janitor", "1", "alice", "offer the janitor", 1L), (first.Agents[0].Name, first.Agents[0].Version, first.Agents[0].ActivatedBy, first.Agents[0].Reason, first.Sequence));
        var slot = Assert.Single(second.Agents);
        Assert.Equal(("2", "bob", T0.AddMinutes(5), 2L), (slot.Version, slot.ActivatedBy, slot.ActivatedAt, second.Sequence));
        var history = await _store.HistoryAsync("janitor", 10, Ct);
        Assert.Equal([("activate", "2", "bob", "janitor@1"), ("activate", "1", "alice", null)], history.Select(e => (e.Action, e.Version, e.By, e.Replaced)));
    }

    [Fact]
    public async Task Activate_TheActiveVersionAgain_ChangesAndRecordsNothing()
    {
        await _store.SaveAsync("janitor", "1", Agent("janitor", "1"), "alice", Ct);
        await _store.ActivateAsync("janitor", "1", "alice", "offer", Ct);

        var again = await _store.ActivateAsync("janitor", "1", "bob", "offer again", Ct);

        Assert.Equal(1, again.Sequence);
        Assert.Equal("alice", again.Agents[0].ActivatedBy);
        Assert.Single(await _store.HistoryAsync(null, 10, Ct));
    }

    [Fact]
    public async Task Activate_AVersionNotStored_IsNotFound_AndAReasonIsRequired()
    {
        await _store.SaveAsync("janitor", "1", Agent("janitor", "1"), "alice", Ct);

        await Assert.ThrowsAsync<AgentNotFoundException>(() => _store.ActivateAsync("janitor", "9", "alice", "x", Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => _store.ActivateAsync("janitor", "1", "alice", " ", Ct));
        Assert.Same(ActiveAgentSet.Empty, await _store.GetActiveAsync(Ct));
    }

    [Fact]
    public async Task Deactivate_TakesOnlyThatAgentOutOfTheOffer_AndTwiceIsNothingToDo()
    {
        await _store.SaveAsync("janitor", "1", Agent("janitor", "1"), "alice", Ct);
        await _store.SaveAsync("archivist", "1", Agent("archivist", "1"), "alice", Ct);
        await _store.ActivateAsync("janitor", "1", "alice", "offer", Ct);
        await _store.ActivateAsync("archivist", "1", "alice", "offer", Ct);

        var after = await _store.DeactivateAsync("janitor", "bob", "cleaned up too much", Ct);
        var twice = await _store.DeactivateAsync("janitor", "bob", "again", Ct);

        Assert.Equal(["archivist"], after!.Agents.Select(a => a.Name));
        Assert.Null(twice);
        var last = (await _store.HistoryAsync("janitor", 10, Ct))[0];
        Assert.Equal(("deactivate", "1", "bob", "cleaned up too much"), (last.Action, last.Version, last.By, last.Reason));
        Assert.Equal(2, (await _store.ListAsync(null, Ct)).Count);
    }

    [Theory]
    [InlineData("2", "10", -1)]
    [InlineData("1.9", "1.10", -1)]
    [InlineData("1.2", "1.2.1", -1)]
    [InlineData("01", "1", 0)]
    [InlineData("2", "1.9", 1)]
    [InlineData("1.0-beta", "1.0-rc", -1)]
    [InlineData("1.1", "1.beta", -1)]
    public void CompareVersions_OrdersSegmentsNumericallyWhereBothAreNumbers(string a, string b, int order)
    {
        Assert.Equal(order, AgentLifecycle.CompareVersions(a, b));
        Assert.Equal(-order, AgentLifecycle.CompareVersions(b, a));
    }

    [Theory]
    [InlineData("diagnostics", "1", true)]
    [InlineData("diagnostics", "0.9", true)]
    [InlineData("diagnostics", "2", false)]
    [InlineData("diagnostics", "1.1", false)]
    [InlineData("janitor", "1", false)]
    public void ShippedConflict_AnUploadMayTakeAShippedNameOnlyAsANewerVersion(string name, string version, bool refused)
    {
        var conflict = AgentLifecycle.ShippedConflict(Shipped, name, version);

        Assert.Equal(refused, conflict is not null);
        if (refused)
        {
            Assert.Equal($"'diagnostics' is an agent this deployment ships at version 1; an uploaded 'diagnostics' must have a newer version than 1, not {version}.", conflict);
        }
    }

    [Fact]
    public void Admission_RecordsTheVersionAndHashOfTheAgentItAdmitted()
    {
        var janitor = AgentLoader.Load(Agent("janitor", "3"), "janitor@3");
        var admission = Admissions.For("dev", new AgentCatalog([janitor]));

        var request = RunRequestParser.Parse("""{"agent":"janitor","target":"https://svc.test/a"}"""u8, "alice", admission);

        Assert.Equal(("3", janitor.Hash), (request.AgentVersion, request.AgentHash));
    }
}
