using System.Net;
using System.Text.Json;
using Agentic.EndToEnd.Tests.Support;
using Agentic.Testing;

namespace Agentic.EndToEnd.Tests;

/// <summary>
/// The real host with a monitor of a degraded fleet service, due every second: its timer starts one run of the
/// monitor's agent, suppresses the ticks after it while it waits for approval, and <c>GET /api/monitors</c> shows it to
/// operators and admins (anyone else: 401 or 403; a bad <c>ticks</c>: 400).
/// </summary>
public sealed class MonitorsApiTests(MonitorsApiTests.MonitorHost host) : IClassFixture<MonitorsApiTests.MonitorHost>
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public static TheoryData<string?, string?, HttpStatusCode> Refused => new()
    {
        { null, null, HttpStatusCode.Unauthorized },
        { null, "operator", HttpStatusCode.Unauthorized },
        { "nobody", "", HttpStatusCode.Forbidden },
        { "requester", "requester", HttpStatusCode.Forbidden },
        { "operator-1", "operator,viewer", HttpStatusCode.OK },
        { "admin-2", "admin", HttpStatusCode.OK },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task Monitors_AnswerOperatorsAndAdmins_401Anonymous_403AnyoneElse(string? principal, string? roles, HttpStatusCode expected)
    {
        using var response = await GetAsync("/api/monitors", new Caller(principal, roles));

        if (expected == HttpStatusCode.OK)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        }
        else
        {
            await Problems.AssertAsync(response, expected, field: null, Token);
        }
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("-1")]
    [InlineData("101")]
    [InlineData("1.5")]
    public async Task Monitors_BadTicks_Answer400NamingTheField(string ticks)
    {
        using var response = await GetAsync("/api/monitors?ticks=" + ticks, Caller.Operator);

        await Problems.AssertAsync(response, HttpStatusCode.BadRequest, "ticks", Token);
    }

    [Fact]
    public async Task Monitor_FiresOneRun_SuppressesTheTicksAfterIt_AndListsThemWithTheNextTick()
    {
        JsonElement monitor = default;
        List<JsonElement> ticks = [];
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        // Wait for the run and two ticks suppressed by it (a tick every second).
        while (DateTime.UtcNow < until)
        {
            monitor = await WatchAsync(100);
            ticks = [.. monitor.GetProperty("ticks").EnumerateArray()];
            if (ticks.Any(t => Outcome(t) == "fired") && ticks.Count(t => Outcome(t) == "suppressed") >= 2)
            {
                break;
            }
            await Task.Delay(200, Token);
        }

        var fired = Assert.Single(ticks, t => Outcome(t) == "fired");
        var runId = fired.GetProperty("runId").GetString()!;
        var suppressed = ticks.Where(t => Outcome(t) == "suppressed").ToList();
        Assert.True(suppressed.Count >= 2, $"{monitor}\n{HostOutput.Tail(host.Host)}");
        Assert.All(suppressed, t => Assert.Equal(("active-run", runId), (t.GetProperty("reason").GetString(), t.GetProperty("runId").GetString())));
        Assert.All(ticks.Where(t => Outcome(t) != "running"), t => Assert.Equal("degraded", t.GetProperty("observationStatus").GetString()));
        Assert.Equal(("* * * * * *", true, "service-healer", "monitor:watch"), (monitor.GetProperty("schedule").GetString(), monitor.GetProperty("enabled").GetBoolean(),
            monitor.GetProperty("agent").GetString(), monitor.GetProperty("principal").GetString()));
        Assert.True(monitor.GetProperty("nextTick").GetDateTimeOffset() > monitor.GetProperty("lastTick").GetProperty("scheduledAt").GetDateTimeOffset());

        // The run is the monitor's principal's; an operator reads it, waiting for a human to approve the restart.
        var (status, run) = await host.Api.GetRunAsync(runId, Token, Caller.Operator);
        Assert.Equal(HttpStatusCode.Accepted, status);
        Assert.Equal(("monitor:watch", "service-healer"), (run!.Principal, run.Agent));

        // ticks=0 lists no ticks but still the last one.
        var bare = await WatchAsync(0);
        Assert.Empty(bare.GetProperty("ticks").EnumerateArray());
        Assert.Equal(JsonValueKind.Object, bare.GetProperty("lastTick").ValueKind);
    }

    private static string? Outcome(JsonElement tick) => tick.GetProperty("outcome").GetString();

    private async Task<JsonElement> WatchAsync(int ticks)
    {
        using var response = await GetAsync($"/api/monitors?ticks={ticks}", Caller.Operator);
        var body = await response.Content.ReadAsStringAsync(Token);
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("monitors").EnumerateArray().Single(m => m.GetProperty("name").GetString() == "watch").Clone();
    }

    private Task<HttpResponseMessage> GetAsync(string path, Caller caller) =>
        host.Api.SendAsync(HttpMethod.Get, new Uri(path, UriKind.Relative), null, caller, Token);

    /// <summary>A real host whose agents directory holds service-healer and a monitor of a degraded fleet service, due every second.</summary>
    public sealed class MonitorHost(AzuriteFixture storage) : IAsyncLifetime
    {
        private readonly DirectoryInfo _agents = Directory.CreateTempSubdirectory("agentic-e2e-monitors-");
        private SampleFleet? _fleet;
        private AgenticHost? _host;

        public AgenticHost Host => _host ?? throw new InvalidOperationException("Not started.");

        public AgenticClient Api { get; private set; } = null!;

        public async ValueTask InitializeAsync()
        {
            _fleet = await SampleFleet.StartAsync();
            await _fleet.DegradeAsync("watched");
            File.Copy(Path.Combine(Repo.Root, "agents", "service-healer.yaml"), Path.Combine(_agents.FullName, "service-healer.yaml"));
            // With the data contract its signal names, beside it as in agents/.
            Directory.CreateDirectory(Path.Combine(_agents.FullName, "schemas"));
            foreach (var schema in Directory.EnumerateFiles(Path.Combine(Repo.Root, "agents", "schemas")))
            {
                File.Copy(schema, Path.Combine(_agents.FullName, "schemas", Path.GetFileName(schema)), overwrite: true);
            }
            Directory.CreateDirectory(Path.Combine(_agents.FullName, "monitors"));
            await File.WriteAllTextAsync(Path.Combine(_agents.FullName, "monitors", "watch.yaml"), $"""
                name: watch
                description: Heals the watched fleet service.
                schedule: "* * * * * *"
                target: {_fleet.Target("watched")}
                when: "!observation.healthy"
                agent: service-healer
                """);
            _host = new AgenticHost(storage.Azurite.ConnectionString, Hubs.New("mon"), new Dictionary<string, string?> { ["Agentic__Agents__Path"] = _agents.FullName }, _fleet);
            await _host.StartAsync();
            Api = new AgenticClient(_host.BaseUri);
        }

        public async ValueTask DisposeAsync()
        {
            Api?.Dispose();
            if (_host is not null)
            {
                await _host.DisposeAsync();
            }
            if (_fleet is not null)
            {
                await _fleet.DisposeAsync();
            }
            _agents.Delete(recursive: true);
        }
    }
}
