using System.Diagnostics;
using System.Text.Json;
using Agentic.Azure;
using Agentic.Core.Agents;
using Agentic.Core.Agents.Lifecycle;
using Agentic.Core.Audit;
using Agentic.Core.Json;
using Agentic.Core.Runs;
using Agentic.Runtime.Tests.Infrastructure;
using Agentic.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Agentic.Runtime.Tests;

/// <summary>
/// Uploaded agents on a real Azurite: immutable versions and the active set in the table store, every host's catalog
/// following the store within its refresh interval, and runs that keep the version they were admitted with.
/// </summary>
public sealed class AgentStoreTests(AzuriteFixture azurite, FleetFixture fleet) : RuntimeTest(azurite, fleet), IClassFixture<FleetFixture>
{
    private const string Admin = "carol";

    [Fact]
    public async Task Save_SameTextThenOtherText_IsAlreadyStoredThenAConflict_AndVersionsAreFoundByName()
    {
        var store = await StoreAsync();
        var text = Agent("janitor", "1");

        var created = await store.SaveAsync("janitor", "1", text, Admin, Ct);
        var again = await store.SaveAsync("janitor", "1", text, "dave", Ct);
        var conflict = await Assert.ThrowsAsync<AgentConflictException>(() => store.SaveAsync("janitor", "1", Agent("janitor", "1", rationale: "Other."), "mallory", Ct));
        await store.SaveAsync("janitor", "2", Agent("janitor", "2"), Admin, Ct);
        await store.SaveAsync("janitor-x", "1", Agent("janitor-x", "1"), Admin, Ct);

        Assert.True(created.Created);
        Assert.False(again.Created);
        Assert.Equal(Admin, again.Version.SavedBy);
        Assert.Contains("janitor@1 is already stored with other text", conflict.Message, StringComparison.Ordinal);
        Assert.Equal(text, (await store.GetAsync("janitor", "1", Ct))!.Yaml);
        Assert.Equal(["1", "2"], (await store.ListAsync("janitor", Ct)).Select(v => v.Version));
        Assert.Equal(3, (await store.ListAsync(null, Ct)).Count);
        Assert.Null(await store.GetAsync("janitor", "1/..", Ct));
    }

    [Fact]
    public async Task ActivateAndDeactivate_AreReadBackWithWhoAndWhy_AndAnActiveSetOverOneTableProperty_IsReadWhole()
    {
        var store = await StoreAsync();
        // Long names and reasons: the active set outgrows a table property (32K characters) and is split over several.
        var reason = new string('r', AgentLifecycle.MaxReasonLength);
        var names = Enumerable.Range(0, 60).Select(i => $"agent-{i:D2}-" + new string('n', 50)).ToList();
        foreach (var name in names)
        {
            await store.SaveAsync(name, "1", Agent(name, "1"), Admin, Ct);
            await store.ActivateAsync(name, "1", Admin, reason, Ct);
        }
        await store.SaveAsync(names[0], "2", Agent(names[0], "2"), Admin, Ct);
        await store.ActivateAsync(names[0], "2", "dave", "v2", Ct);
        await store.DeactivateAsync(names[1], "erin", "retired", Ct);

        var active = await new TableAgentStore(Clients(), TimeProvider.System).GetActiveAsync(Ct);

        Assert.True(JsonSerializer.Serialize(active, AgenticJson.Options).Length > 32_000);
        Assert.Equal(62, active.Sequence);
        Assert.Equal(names.Where(n => n != names[1]), active.Agents.Select(a => a.Name));
        Assert.Equal(("2", "dave", "v2"), (active.Find(names[0])!.Version, active.Find(names[0])!.ActivatedBy, active.Find(names[0])!.Reason));
        var history = await store.HistoryAsync(names[0], 10, Ct);
        Assert.Equal([("activate", "2", "dave", $"{names[0]}@1"), ("activate", "1", Admin, null)], history.Select(e => (e.Action, e.Version, e.By, e.Replaced)));
        Assert.Equal(("deactivate", "erin"), ((await store.HistoryAsync(null, 1, Ct))[0].Action, (await store.HistoryAsync(null, 1, Ct))[0].By));
        Assert.Null(await store.DeactivateAsync(names[1], "erin", "again", Ct));
    }

    [Fact]
    public async Task TwoHosts_FollowTheStore_WithinTheirRefreshInterval_AndBothRunTheUploadedAgent()
    {
        var settings = Settings(refreshSeconds: 1);
        var a = await StartRuntimeAsync(settings, s => s.AddAgenticAgentStore(Configuration(settings)));
        var b = await StartRuntimeAsync(settings, s => s.AddAgenticAgentStore(Configuration(settings)));
        await OfferedAsync(a, "diagnostics");
        await OfferedAsync(b, "diagnostics");

        var store = a.Services.GetRequiredService<IAgentStore>();
        await store.SaveAsync("janitor", "1", Agent("janitor", "1"), Admin, Ct);
        var activated = Stopwatch.StartNew();
        await store.ActivateAsync("janitor", "1", Admin, "offer the janitor", Ct);
        await WaitUntilAsync(async () => await OffersAsync(a, "janitor") && await OffersAsync(b, "janitor"), "offered by both hosts");
        var converged = activated.Elapsed;

        // Bounded staleness: a host reads the active set at most a refresh interval after it changed.
        Assert.True(converged < TimeSpan.FromSeconds(1) + TimeSpan.FromSeconds(2), $"The hosts converged after {converged}.");
        var admitted = await a.Services.GetRequiredService<RunAdmissions>().CurrentAsync(Ct);
        var request = RunRequestParser.Parse(JsonSerializer.SerializeToUtf8Bytes(new { agent = "janitor", target = Fleet.HealthyTarget() }), Requests.Requester, admitted);
        var run = await b.WaitTerminalAsync(await SubmitAsync(b, request));
        AssertCompleted(run, "done");
        Assert.Contains(run.View.Log, l => l.Kind == "planned" && l.Message.StartsWith("playbook:janitor@1", StringComparison.Ordinal));

        await b.Services.GetRequiredService<IAgentStore>().DeactivateAsync("janitor", Admin, "retired", Ct);
        await WaitUntilAsync(async () => !await OffersAsync(a, "janitor") && !await OffersAsync(b, "janitor"), "withdrawn by both hosts");
        var withdrawn = await b.Services.GetRequiredService<RunAdmissions>().CurrentAsync(Ct);
        var refused = Assert.Throws<InputException>(() => RunRequestParser.Parse(
            JsonSerializer.SerializeToUtf8Bytes(new { agent = "janitor", target = Fleet.HealthyTarget() }), Requests.Requester, withdrawn));
        Assert.Equal("agent", Assert.Single(refused.Errors).Field);

        // The hosts stored the agents they ship, and every change is on the audit's control chain.
        var versions = await store.ListAsync("diagnostics", Ct);
        Assert.Equal(AgentLifecycle.StartupPrincipal, Assert.Single(versions).SavedBy);
        var chain = await ControlChainAsync(a);
        Assert.Contains(chain, r => r.Kind == AuditKinds.AgentStored && Name(r) == "janitor");
        Assert.Contains(chain, r => r.Kind == AuditKinds.AgentActivated && Name(r) == "janitor" && r.Data.GetProperty("reason").GetString() == "offer the janitor");
        Assert.Contains(chain, r => r.Kind == AuditKinds.AgentDeactivated && Name(r) == "janitor" && r.Data.GetProperty("version").GetString() == "1");
    }

    [Fact]
    public async Task RunAdmittedUnderV1_PerceivesAndPlansWithV1_AfterV2IsActivated()
    {
        var settings = Settings(refreshSeconds: 0);
        var runtime = await StartRuntimeAsync(settings, s => s.AddAgenticAgentStore(Configuration(settings)));
        var store = runtime.Services.GetRequiredService<IAgentStore>();
        var admissions = runtime.Services.GetRequiredService<RunAdmissions>();
        await store.SaveAsync("janitor", "1", Agent("janitor", "1", tool: "sample.diagnostics", probe: "health"), Admin, Ct);
        await store.ActivateAsync("janitor", "1", Admin, "v1", Ct);
        var target = Fleet.HealthyTarget();
        var body = JsonSerializer.SerializeToUtf8Bytes(new { agent = "janitor", target });
        var v1 = await admissions.CurrentAsync(Ct);
        var underV1 = RunRequestParser.Parse(body, Requests.Requester, v1);

        // v2 perceives another route and proposes another tool; the run admitted under v1 starts only now.
        await store.SaveAsync("janitor", "2", Agent("janitor", "2", tool: "sample.health", probe: "status"), Admin, Ct);
        await store.ActivateAsync("janitor", "2", Admin, "v2", Ct);
        var v2 = await admissions.CurrentAsync(Ct);
        var underV2 = RunRequestParser.Parse(body, Requests.Requester, v2);
        var first = await runtime.WaitTerminalAsync(await SubmitAsync(runtime, underV1));
        var second = await runtime.WaitTerminalAsync(await SubmitAsync(runtime, underV2 with { IdempotencyKey = "second" }));

        Assert.Equal(("1", "2"), (underV1.AgentVersion, underV2.AgentVersion));
        AssertCompleted(first, "done");
        Assert.Equal($"http-probe:{target}/health", first.View.Observation?.Source);
        Assert.Equal(["sample.diagnostics"], first.View.Steps.Select(s => s.Tool));
        Assert.Contains(first.View.Log, l => l.Kind == "planned" && l.Message.StartsWith("playbook:janitor@1", StringComparison.Ordinal));
        Assert.Equal($"http-probe:{target}/status", second.View.Observation?.Source);
        Assert.Contains(second.View.Log, l => l.Kind == "planned" && l.Message.StartsWith("playbook:janitor@2", StringComparison.Ordinal));
        var plan = await PlanRecordAsync(runtime, first.RunId);
        Assert.Equal(("1", underV1.AgentHash), (plan.GetProperty("agentVersion").GetString(), plan.GetProperty("agentHash").GetString()));
    }

    private static Dictionary<string, string?> Settings(int refreshSeconds) => new() { ["Agentic:Agents:RefreshSeconds"] = refreshSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture) };

    private static IConfiguration Configuration(Dictionary<string, string?> settings) => new ConfigurationBuilder().AddInMemoryCollection(settings).Build();

    private static async Task<bool> OffersAsync(LocalRuntime runtime, string agent) =>
        (await runtime.Services.GetRequiredService<IAgentCatalogProvider>().GetAsync(Ct)).Contains(agent);

    private static async Task OfferedAsync(LocalRuntime runtime, string agent) =>
        Assert.True(await OffersAsync(runtime, agent), $"{agent} is not offered.\n{runtime.LogTail()}");

    private static async Task<List<AuditRecordView>> ControlChainAsync(LocalRuntime runtime)
    {
        var records = new List<AuditRecordView>();
        await foreach (var record in runtime.Services.GetRequiredService<IAuditStore>().ReadAsync(AuditChain.Control, 0, Ct))
        {
            if (record.Read() is { } read)
            {
                records.Add(read);
            }
        }
        return records;
    }

    private static async Task<JsonElement> PlanRecordAsync(LocalRuntime runtime, string runId)
    {
        await foreach (var record in runtime.Services.GetRequiredService<IAuditStore>().ReadAsync(runId, 0, Ct))
        {
            if (record.Read() is { Kind: AuditKinds.Plan } read)
            {
                return read.Data;
            }
        }
        Assert.Fail($"Run {runId} has no plan record.");
        return default;
    }

    private static string? Name(AuditRecordView record) => record.Data.GetProperty("name").GetString();

    private async Task<TableAgentStore> StoreAsync()
    {
        var store = new TableAgentStore(Clients(), TimeProvider.System);
        await store.Table.CreateIfNotExistsAsync(Ct);
        return store;
    }

    private StorageClients Clients() => new(
        new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["AgenticStorage"] = Azurite.ConnectionString }).Build(),
        Options.Create(new AgenticStorageOptions { HubName = Hub }));

    /// <summary>A playbook agent that runs <paramref name="tool"/> once, perceiving through the route <paramref name="probe"/>.</summary>
    private static string Agent(string name, string version, string tool = "sample.diagnostics", string probe = "health", string rationale = "One sample.") =>
        $"name: {name}\nversion: \"{version}\"\ndescription: Gathers diagnostics.\nautonomy: autonomous\n"
        + $"signals: [{{ kind: http-probe, path: {probe} }}]\ntools: [{tool}]\n"
        + $"playbook:\n  rules:\n    - rationale: Collect diagnostics.\n      steps:\n        - tool: {tool}\n          rationale: {rationale}\n";
}
