using System.Text.Json;
using Agentic.Azure;
using Agentic.Core;
using Agentic.Core.Activities;
using Agentic.Core.Agents;
using Agentic.Core.Audit;
using Agentic.Core.Json;
using Agentic.Core.Tools.Builtin;
using Agentic.Runtime.Tests.Infrastructure;
using Agentic.Testing;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Agentic.Runtime.Tests;

/// <summary>
/// The <c>queue-depth</c> and <c>table-count</c> signals against the real Azurite: what the storage layer reads (the
/// deployment's own account, by name), and what the perceive activity makes of it under a data contract.
/// </summary>
public sealed class StorageSignalsTests(AzuriteFixture azurite) : IAsyncDisposable
{
    private readonly ServiceProvider _services = Services(azurite);
    private readonly List<IDisposable> _clients = [];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private IStorageSignals Signals => _services.GetRequiredService<IStorageSignals>();

    private QueueServiceClient Queues => new(azurite.Azurite.ConnectionString);

    private TableServiceClient Tables => new(azurite.Azurite.ConnectionString);

    public ValueTask DisposeAsync()
    {
        _clients.ForEach(c => c.Dispose());
        return _services.DisposeAsync();
    }

    // The storage layer as both hosts register it.
    private static ServiceProvider Services(AzuriteFixture azurite)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["AgenticStorage"] = azurite.Azurite.ConnectionString }).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddAgenticCore();
        services.AddAgenticAzureStorage(configuration);
        return services.BuildServiceProvider();
    }

    private static string FreshQueue() => "sig-" + Guid.NewGuid().ToString("N")[..16];

    private static string FreshTable() => "sig" + Guid.NewGuid().ToString("N")[..16];

    private async Task<string> QueueWithAsync(int messages)
    {
        var name = FreshQueue();
        var queue = Queues.GetQueueClient(name);
        await queue.CreateAsync(cancellationToken: Ct);
        for (var i = 0; i < messages; i++)
        {
            await queue.SendMessageAsync($"{{\"n\":{i}}}", Ct);
        }
        return name;
    }

    private async Task<string> IncidentsAsync(int open, int closed)
    {
        var name = FreshTable();
        var table = Tables.GetTableClient(name);
        await table.CreateAsync(Ct);
        for (var i = 0; i < open + closed; i++)
        {
            await table.AddEntityAsync(new TableEntity("incidents", $"i{i:D3}") { ["Status"] = i < open ? "open" : "closed", ["Note"] = "private text" }, Ct);
        }
        return name;
    }

    [Fact]
    public async Task QueueDepth_IsTheQueuesApproximateMessageCount()
    {
        var name = await QueueWithAsync(3);

        Assert.IsType<StorageSignals>(Signals);
        Assert.Equal(3, await Signals.QueueDepthAsync(name, Ct));
        Assert.Equal(0, await Signals.QueueDepthAsync(await QueueWithAsync(0), Ct));
    }

    [Fact]
    public async Task QueueDepth_OfAQueueThatDoesNotExist_FailsNamingIt_WithoutCreatingIt()
    {
        var name = FreshQueue();

        var ex = await Assert.ThrowsAsync<NonRetryableException>(() => Signals.QueueDepthAsync(name, Ct));

        Assert.Equal($"The queue '{name}' does not exist in the deployment's storage account.", ex.Message);
        Assert.False((await Queues.GetQueueClient(name).ExistsAsync(Ct)).Value);
    }

    [Fact]
    public async Task TableCount_CountsTheRowsTheFilterMatches_UpToItsBound()
    {
        var name = await IncidentsAsync(open: 5, closed: 2);

        Assert.Equal(5, await Signals.CountRowsAsync(name, "Status eq 'open'", 1000, Ct));
        Assert.Equal(3, await Signals.CountRowsAsync(name, "Status eq 'open'", 3, Ct));
        Assert.Equal(7, await Signals.CountRowsAsync(name, null, 1000, Ct));
        Assert.Equal(0, await Signals.CountRowsAsync(name, "Status eq 'archived'", 1000, Ct));
    }

    [Fact]
    public async Task TableCount_OfATableThatDoesNotExist_FailsNamingIt()
    {
        var name = FreshTable();

        var ex = await Assert.ThrowsAsync<NonRetryableException>(() => Signals.CountRowsAsync(name, null, 10, Ct));

        Assert.Equal($"The table '{name}' does not exist in the deployment's storage account.", ex.Message);
    }

    // An agent whose first signal (the primary one) is the open rows' count and whose second is the queue's depth, each
    // under a contract of at most a bound; and the perceive activity over the storage layer as the hosts register it.
    private (PerceiveActivity Activity, InMemoryAuditStore Audit, LoopbackOnlyNetwork Network) Perception(string table, int openBound, string queue, int depthBound)
    {
        var files = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["schemas/open.json"] = $$"""{ "type": "integer", "maximum": {{openBound}} }""",
            ["schemas/depth.json"] = $$"""{ "type": "integer", "maximum": {{depthBound}} }""",
        };
        var agents = new AgentCatalog([AgentLoader.Load($$"""
            name: storage-watch
            version: "1"
            description: Watches storage.
            tools: [sample.diagnostics]
            signals:
              - { kind: table-count, name: open, table: {{table}}, filter: "Status eq 'open'", schema: schemas/open.json }
              - { kind: queue-depth, name: backlog, queue: {{queue}}, schema: schemas/depth.json, trusted: true }
            playbook:
              rules:
                - rationale: Nothing.
            """, "agents/storage-watch.yaml", readFile: path => files.GetValueOrDefault(path))]);
        var network = new LoopbackOnlyNetwork();
        var audit = new InMemoryAuditStore();
        var client = new EgressClient(network.ResolveAsync, network.ConnectAsync);
        _clients.Add(client);
        var activity = new PerceiveActivity(Requests.Admission(Target, agents).Targets, client, new AuditLog(audit, new AuditHeads()), TimeProvider.System, agents, Signals);
        return (activity, audit, network);
    }

    private static readonly Uri Target = new("http://127.0.0.1:9/services/a");

    private static async Task<(Observation Observation, JsonElement Record)> PerceiveAsync((PerceiveActivity Activity, InMemoryAuditStore Audit, LoopbackOnlyNetwork Network) perception)
    {
        var observation = AgenticJson.FromElement<Observation>(await perception.Activity.RunAsync(
            AgenticJson.ToElement(new PerceiveInput("run-s", "storage-watch", Target.ToString(), "observe")), new ActivityContext("run-s", "perceive", 1), Ct));
        Assert.Empty(perception.Network.Connections);
        var record = JsonDocument.Parse((await perception.Audit.FindAsync("run-s", "perceive", Ct))!.Content).RootElement.GetProperty("data").Clone();
        return (observation, record);
    }

    [Fact]
    public async Task Perception_OfACountWithinItsContract_AndADepthBeyondIt_UsesTheCount_AndRecordsBoth()
    {
        var queue = await QueueWithAsync(3);
        var table = await IncidentsAsync(open: 4, closed: 1);

        var (observation, record) = await PerceiveAsync(Perception(table, openBound: 10, queue, depthBound: 2));

        var (open, backlog) = (observation.Signals![0], observation.Signals[1]);
        Assert.Equal(("open", "table-count", $"table-count:{table}", "4"), (open.Name, open.Kind, open.Source, open.Value!.Value.GetRawText()));
        Assert.Equal(AgenticJson.Digest(JsonSerializer.SerializeToElement(4)), open.Digest);
        Assert.Null(open.ContractErrors);
        Assert.Equal(("backlog", $"queue-depth:{queue}", true), (backlog.Name, backlog.Source, backlog.Trusted));
        Assert.Null(backlog.Value);
        Assert.Equal(["$: expected at most 2, got an integer (not shown)"], backlog.ContractErrors);
        Assert.Equal(AgenticJson.Digest(JsonSerializer.SerializeToElement(3)), backlog.Digest);
        // The count is the primary signal and kept its contract, so the run may go on without the backlog; with no probe to
        // say otherwise, a broken contract makes the observation unhealthy.
        Assert.Equal((false, "contract-violation", (string?)null, $"table-count:{table}"), (observation.Healthy, observation.Status, observation.Failure, observation.Source));
        Assert.Equal([true, false], record.GetProperty("signals").EnumerateArray().Select(s => s.GetProperty("valid").GetBoolean()));
    }

    [Fact]
    public async Task Perception_OfACountBeyondItsContract_FailsTheRun_AndADepthWithinItsContractIsUsed()
    {
        var queue = await QueueWithAsync(3);
        var table = await IncidentsAsync(open: 4, closed: 1);

        var (observation, record) = await PerceiveAsync(Perception(table, openBound: 2, queue, depthBound: 10));

        Assert.Equal(((string?)null, "3"), (observation.Signals![0].Value?.GetRawText(), observation.Signals[1].Value!.Value.GetRawText()));
        Assert.Equal("Signal 'open' broke its data contract (schemas/open.json): $: expected at most 2, got an integer (not shown).", observation.Failure);
        Assert.Equal(observation.Failure, record.GetProperty("failure").GetString());
        Assert.Equal([false, true], record.GetProperty("signals").EnumerateArray().Select(s => s.GetProperty("valid").GetBoolean()));
    }
}
