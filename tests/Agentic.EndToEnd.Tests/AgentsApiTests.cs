using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Agentic.EndToEnd.Tests.Support;
using Agentic.Testing;

namespace Agentic.EndToEnd.Tests;

/// <summary>One real host (and fleet) on a hub of its own for the agent lifecycle tests; it reads the active agents on every admission.</summary>
public sealed class AgentsHost(AzuriteFixture storage) : IAsyncLifetime
{
    private SampleFleet? _fleet;

    /// <summary>The host.</summary>
    public AgenticHost Host { get; private set; } = null!;

    /// <summary>The fleet the runs target.</summary>
    public SampleFleet Fleet => _fleet ?? throw new InvalidOperationException("Not started.");

    /// <summary>A client of the host's API.</summary>
    public AgenticClient Api { get; private set; } = null!;

    /// <inheritdoc />
    public async ValueTask InitializeAsync()
    {
        _fleet = await SampleFleet.StartAsync();
        // Refresh 0: an activation reaches the very next admission, so the tests need not wait for the interval.
        Host = new AgenticHost(storage.Azurite.ConnectionString, Hubs.New("agt"), new Dictionary<string, string?> { ["Agentic__Agents__RefreshSeconds"] = "0" }, _fleet);
        await Host.StartAsync();
        Api = new AgenticClient(Host.BaseUri);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        Api?.Dispose();
        if (Host is not null)
        {
            await Host.DisposeAsync();
        }
        if (_fleet is not null)
        {
            await _fleet.DisposeAsync();
        }
    }
}

/// <summary>
/// The agent lifecycle on the real host: <c>/api/agents</c> (identified callers read, admins upload, activate and
/// deactivate), and runs of an uploaded agent admitted and completed by the same process.
/// </summary>
public sealed class AgentsApiTests(AgentsHost host) : IClassFixture<AgentsHost>
{
    private static readonly Caller Admin = new("admin-1", "operator, admin");
    private static readonly Caller OtherAdmin = new("admin-2", "admin");

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public static TheoryData<string, string> Routes => new()
    {
        { "GET", "/api/agents" },
        { "GET", "/api/agents/diagnostics/versions" },
        { "GET", "/api/agents/diagnostics/history" },
        { "POST", "/api/agents" },
        { "POST", "/api/agents/e2e-denied/1/activate" },
        { "POST", "/api/agents/e2e-denied/deactivate" },
    };

    public static TheoryData<string, string, string> Changes => new()
    {
        { "/api/agents", "operator-1", "operator" },
        { "/api/agents", "viewer-1", "requester" },
        { "/api/agents/e2e-denied/1/activate", "operator-1", "operator,viewer" },
        { "/api/agents/e2e-denied/1/activate", "operator-1", "" },
        { "/api/agents/e2e-denied/deactivate", "operator-2", "viewer" },
        { "/api/agents/e2e-denied/deactivate", "operator-1", "administrator" },
    };

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task Agents_AnonymousCaller_Answers401Problem(string method, string path)
    {
        using var response = await SendAsync(new HttpMethod(method), path, method == "POST" ? Body(path) : null, new Caller(null, "admin"));

        await Problems.AssertAsync(response, HttpStatusCode.Unauthorized, field: null, Token);
    }

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task Agents_CallerWithNoRole_Answers403Problem(string method, string path)
    {
        using var response = await SendAsync(new HttpMethod(method), path, method == "POST" ? Body(path) : null, new Caller("nobody", ""));

        await Problems.AssertAsync(response, HttpStatusCode.Forbidden, field: null, Token);
    }

    [Theory]
    [MemberData(nameof(Changes))]
    public async Task AgentChanges_CallerWithoutAdminRole_Answer403ProblemAndChangeNothing(string path, string principal, string roles)
    {
        using (var seed = await SendAsync(HttpMethod.Post, "/api/agents", Yaml(Agent("e2e-denied", "1")), Admin))
        {
            Assert.True(seed.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK, await seed.Content.ReadAsStringAsync(Token));
        }
        var before = await VersionsAsync("e2e-denied");

        using var response = await SendAsync(HttpMethod.Post, path, Body(path, version: "2"), new Caller(principal, roles));

        await Problems.AssertAsync(response, HttpStatusCode.Forbidden, field: null, Token);
        var after = await VersionsAsync("e2e-denied");
        Assert.Equal(before.GetProperty("versions").GetArrayLength(), after.GetProperty("versions").GetArrayLength());
        Assert.Equal(JsonValueKind.Null, ValueKind(after, "activeUpload"));
        Assert.Empty(await HistoryAsync("e2e-denied"));
    }

    [Theory]
    [InlineData("GET", "/api/agents")]
    [InlineData("GET", "/api/agents/diagnostics/versions")]
    [InlineData("GET", "/api/agents/diagnostics/history")]
    public async Task AgentReads_AnyRole_Answer200(string method, string path)
    {
        foreach (var caller in new[] { new Caller("viewer-1", "requester"), Caller.Operator, OtherAdmin })
        {
            using var response = await SendAsync(new HttpMethod(method), path, null, caller);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{caller}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(Token)}");
        }
    }

    [Fact]
    public async Task Catalog_AfterHostStart_ListsTheShippedAgents_AndTheStoreHoldsTheirVersionsStoredByHostStartup()
    {
        var agents = await ListAsync();
        var diagnostics = Assert.Single(agents, a => a.GetProperty("name").GetString() == "diagnostics");
        var versions = await VersionsAsync("diagnostics");

        Assert.Equal("shipped", diagnostics.GetProperty("source").GetString());
        Assert.Equal(JsonValueKind.Null, ValueKind(diagnostics, "uploadedBy"));
        var stored = Assert.Single(versions.GetProperty("versions").EnumerateArray());
        Assert.Equal((diagnostics.GetProperty("version").GetString(), diagnostics.GetProperty("hash").GetString(), "shipped", "host:startup", true),
            (stored.GetProperty("version").GetString(), stored.GetProperty("contentHash").GetString(), stored.GetProperty("source").GetString(), stored.GetProperty("savedBy").GetString(), stored.GetProperty("offered").GetBoolean()));
    }

    [Fact]
    public async Task Upload_NewThenSameThenOtherText_Answers201Then200Then409()
    {
        var text = Agent("e2e-upload", "1");

        using (var created = await SendAsync(HttpMethod.Post, "/api/agents", Yaml(text), Admin))
        {
            var body = JsonDocument.Parse(await created.Content.ReadAsStringAsync(Token)).RootElement;
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            Assert.Equal("/api/agents/e2e-upload/versions", created.Headers.Location?.OriginalString);
            Assert.Equal(("e2e-upload", "1", "admin-1"), (body.GetProperty("name").GetString(), body.GetProperty("version").GetString(), body.GetProperty("savedBy").GetString()));
        }
        using (var same = await SendAsync(HttpMethod.Post, "/api/agents", Yaml(text), OtherAdmin))
        {
            Assert.Equal(HttpStatusCode.OK, same.StatusCode);
            Assert.Equal("admin-1", JsonDocument.Parse(await same.Content.ReadAsStringAsync(Token)).RootElement.GetProperty("savedBy").GetString());
        }
        using (var other = await SendAsync(HttpMethod.Post, "/api/agents", Yaml(Agent("e2e-upload", "1", description: "Other text.")), Admin))
        {
            await Problems.AssertAsync(other, HttpStatusCode.Conflict, field: null, Token);
        }
        var versions = await VersionsAsync("e2e-upload");
        var stored = Assert.Single(versions.GetProperty("versions").EnumerateArray());
        Assert.Equal(("uploaded", false), (stored.GetProperty("source").GetString(), stored.GetProperty("offered").GetBoolean()));
        Assert.DoesNotContain(await ListAsync(), a => a.GetProperty("name").GetString() == "e2e-upload");
    }

    [Fact]
    public async Task Upload_AgentThatDoesNotLoadOrCheck_Answers400ListingEachDiagnosticWithLineAndColumn()
    {
        const string broken = """
            name: e2e-broken
            version: "1"
            description: Broken on purpose.
            autonomy: reckless
            tools: [sample.diagnostics]
            colour: red
            playbook:
              rules:
                - rationale: Nothing.
            """;

        using var response = await SendAsync(HttpMethod.Post, "/api/agents", Yaml(broken), Admin);
        using var unknownTool = await SendAsync(HttpMethod.Post, "/api/agents", Yaml(Agent("e2e-broken", "1", tool: "sample.sweep")), Admin);

        var problem = await Problems.AssertAsync(response, HttpStatusCode.BadRequest, field: "agent", Token);
        var diagnostics = Diagnostics(problem);
        Assert.Contains((4, 11, "invalid-autonomy"), diagnostics);
        Assert.Contains((6, 1, "unknown-key"), diagnostics);
        var tool = await Problems.AssertAsync(unknownTool, HttpStatusCode.BadRequest, field: "agent", Token);
        Assert.Equal([(5, 9, "unknown-tool")], Diagnostics(tool));
        using var versions = await SendAsync(HttpMethod.Get, "/api/agents/e2e-broken/versions", null, Admin);
        await Problems.AssertAsync(versions, HttpStatusCode.NotFound, field: null, Token);
    }

    [Fact]
    public async Task Upload_AShippedAgentsNameAtItsVersion_Answers409_AndANewerVersionIsStored()
    {
        using var same = await SendAsync(HttpMethod.Post, "/api/agents", Yaml(Agent("scaler", "1")), Admin);
        using var newer = await SendAsync(HttpMethod.Post, "/api/agents", Yaml(Agent("scaler", "1.1")), Admin);

        var problem = await Problems.AssertAsync(same, HttpStatusCode.Conflict, field: null, Token);
        Assert.Contains("must have a newer version than 1", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.True(newer.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK, await newer.Content.ReadAsStringAsync(Token));
    }

    [Theory]
    [InlineData("/api/agents/e2e-x/1/activate", """{}""", "reason")]
    [InlineData("/api/agents/e2e-x/1/activate", """{"reason": "x", "mode": "enforce"}""", "$.mode")]
    [InlineData("/api/agents/e2e-x/1/activate", """{"reason": """, "$.reason")]
    [InlineData("/api/agents/e2e-x/1/activate", "", "$")]
    [InlineData("/api/agents/e2e-x/deactivate", """{"reason": " "}""", "reason")]
    public async Task AgentChanges_BadJsonBody_Answer400ProblemNamingTheField(string path, string body, string field)
    {
        using var response = await SendAsync(HttpMethod.Post, path, AgenticClient.Raw(body), Admin);

        await Problems.AssertAsync(response, HttpStatusCode.BadRequest, field, Token);
    }

    [Fact]
    public async Task Upload_AsJson_Answers415_AndAnEmptyBody400()
    {
        using var json = await SendAsync(HttpMethod.Post, "/api/agents", AgenticClient.Raw("""{"name": "x"}"""), Admin);
        using var empty = await SendAsync(HttpMethod.Post, "/api/agents", Yaml("  \n"), Admin);

        await Problems.AssertAsync(json, HttpStatusCode.UnsupportedMediaType, field: null, Token);
        await Problems.AssertAsync(empty, HttpStatusCode.BadRequest, field: "$", Token);
    }

    [Fact]
    public async Task Activate_AVersionNotStored_Answers404_AndDeactivateWithNothingActive409()
    {
        using var activate = await SendAsync(HttpMethod.Post, "/api/agents/e2e-none/1/activate", AgenticClient.Json(new { reason = "x" }), Admin);
        using var deactivate = await SendAsync(HttpMethod.Post, "/api/agents/diagnostics/deactivate", AgenticClient.Json(new { reason = "x" }), Admin);

        await Problems.AssertAsync(activate, HttpStatusCode.NotFound, field: null, Token);
        var problem = await Problems.AssertAsync(deactivate, HttpStatusCode.Conflict, field: null, Token);
        Assert.Contains("shipped with the deployment", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UploadedAgent_Activated_IsOfferedAndItsRunCompletes_ThenDeactivated_NewRunsAre400()
    {
        using (var upload = await SendAsync(HttpMethod.Post, "/api/agents", Yaml(Agent("e2e-janitor", "1")), Admin))
        {
            Assert.Equal(HttpStatusCode.Created, upload.StatusCode);
        }
        var target = host.Fleet.Target("agt-" + Guid.NewGuid().ToString("N")[..8]);
        using (var early = await host.Api.PostRunAsync(AgenticClient.Json(new { agent = "e2e-janitor", target }), Caller.Requester, Token))
        {
            await Problems.AssertAsync(early, HttpStatusCode.BadRequest, field: "agent", Token);
        }

        var active = await ChangeAsync("/api/agents/e2e-janitor/1/activate", new { reason = "offer the janitor" }, OtherAdmin);
        Assert.Contains(active.GetProperty("agents").EnumerateArray(), a => a.GetProperty("name").GetString() == "e2e-janitor" && a.GetProperty("activatedBy").GetString() == "admin-2");
        var listed = Assert.Single(await ListAsync(), a => a.GetProperty("name").GetString() == "e2e-janitor");
        Assert.Equal(("uploaded", "admin-1", "admin-2", "offer the janitor"),
            (listed.GetProperty("source").GetString(), listed.GetProperty("uploadedBy").GetString(), listed.GetProperty("activatedBy").GetString(), listed.GetProperty("reason").GetString()));

        var run = await host.Api.SubmitAsync(new { agent = "e2e-janitor", target }, Caller.Requester, Token);
        var view = await WaitEndedAsync(run.Id);
        Assert.True(view.Status == "completed", $"{view.Status}: {view.FailureReason}\n{HostOutput.Tail(host.Host)}");
        Assert.Contains(view.Log, l => l.Kind == "planned" && l.Message.StartsWith("playbook:e2e-janitor@1", StringComparison.Ordinal));

        await ChangeAsync("/api/agents/e2e-janitor/deactivate", new { reason = "retired" }, Admin);
        using (var late = await host.Api.PostRunAsync(AgenticClient.Json(new { agent = "e2e-janitor", target }), Caller.Requester, Token))
        {
            var problem = await Problems.AssertAsync(late, HttpStatusCode.BadRequest, field: "agent", Token);
            Assert.StartsWith("Unknown agent 'e2e-janitor'", problem.GetProperty("errors")[0].GetProperty("message").GetString(), StringComparison.Ordinal);
        }
        var history = await HistoryAsync("e2e-janitor");
        Assert.Equal([("deactivate", "1", "admin-1", "retired"), ("activate", "1", "admin-2", "offer the janitor")],
            history.Select(h => (h.GetProperty("action").GetString(), h.GetProperty("version").GetString(), h.GetProperty("by").GetString(), h.GetProperty("reason").GetString())));
    }

    [Fact]
    public async Task UploadedAgent_NamesTheDeploymentsDataContracts_AndARunWhoseDocumentBreaksOneEndsAtPerceive()
    {
        static string Intake(string schema) => $"""
            name: e2e-intake
            version: "1"
            description: Reads a document under the deployment's data contract.
            autonomy: autonomous
            tools: [sample.diagnostics]
            signals:
              - kind: http-probe
                path: health
              - kind: request
                name: document
                path: parameters.document
                schema: {schema}
            playbook:
              rules:
                - rationale: Collect diagnostics.
                  steps:
                    - tool: sample.diagnostics
                      rationale: One sample.
            """;

        // An upload brings no file of its own: it names the deployment's data contracts, and nothing outside them.
        using (var missing = await SendAsync(HttpMethod.Post, "/api/agents", Yaml(Intake("schemas/e2e-missing.schema.json")), Admin))
        {
            Assert.Equal([(12, 13, "file-not-found")], Diagnostics(await Problems.AssertAsync(missing, HttpStatusCode.BadRequest, field: "agent", Token)));
        }
        using (var outside = await SendAsync(HttpMethod.Post, "/api/agents", Yaml(Intake("../appsettings.json")), Admin))
        {
            Assert.Equal([(12, 13, "invalid-value")], Diagnostics(await Problems.AssertAsync(outside, HttpStatusCode.BadRequest, field: "agent", Token)));
        }
        using (var upload = await SendAsync(HttpMethod.Post, "/api/agents", Yaml(Intake("schemas/contract-document.schema.json")), Admin))
        {
            Assert.Equal(HttpStatusCode.Created, upload.StatusCode);
        }
        await ChangeAsync("/api/agents/e2e-intake/1/activate", new { reason = "intake under the shipped contract" }, Admin);
        var listed = Assert.Single(await ListAsync(), a => a.GetProperty("name").GetString() == "e2e-intake");
        var contract = listed.GetProperty("signals").EnumerateArray().Single(s => s.GetProperty("name").GetString() == "document").GetProperty("schema");
        Assert.Equal("schemas/contract-document.schema.json", contract.GetProperty("path").GetString());

        var target = host.Fleet.Target("agt-" + Guid.NewGuid().ToString("N")[..8]);
        var broken = await host.Api.SubmitAsync(new { agent = "e2e-intake", target, parameters = new { document = new { text = "Terms.", approved = true } } }, Caller.Requester, Token);
        var good = await host.Api.SubmitAsync(new { agent = "e2e-intake", target, parameters = new { document = new { title = "NDA", text = "Terms." } } }, Caller.Requester, Token);

        var refused = await WaitEndedAsync(broken.Id);
        Assert.Equal("failed", refused.Status);
        Assert.Equal("Signal 'document' broke its data contract (schemas/contract-document.schema.json): $.approved: property is not allowed.", refused.FailureReason);
        Assert.Empty(refused.Steps);
        var accepted = await WaitEndedAsync(good.Id);
        Assert.True(accepted.Status == "completed", $"{accepted.Status}: {accepted.FailureReason}\n{HostOutput.Tail(host.Host)}");
    }

    private async Task<Agentic.Core.Runs.RunView> WaitEndedAsync(string id)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < until)
        {
            var (status, view) = await host.Api.GetRunAsync(id, Token);
            if (status == HttpStatusCode.OK)
            {
                return view!;
            }
            await Task.Delay(100, Token);
        }
        Assert.Fail($"Run {id} did not end within 60 s.\n{HostOutput.Tail(host.Host)}");
        return null!;
    }

    private async Task<List<JsonElement>> ListAsync()
    {
        using var response = await SendAsync(HttpMethod.Get, "/api/agents", null, Caller.Requester);
        var body = await response.Content.ReadAsStringAsync(Token);
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return [.. JsonDocument.Parse(body).RootElement.EnumerateArray().Select(e => e.Clone())];
    }

    private async Task<JsonElement> VersionsAsync(string name)
    {
        using var response = await SendAsync(HttpMethod.Get, $"/api/agents/{name}/versions", null, Caller.Requester);
        var body = await response.Content.ReadAsStringAsync(Token);
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private async Task<List<JsonElement>> HistoryAsync(string name)
    {
        using var response = await SendAsync(HttpMethod.Get, $"/api/agents/{name}/history", null, Caller.Requester);
        var body = await response.Content.ReadAsStringAsync(Token);
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return [.. JsonDocument.Parse(body).RootElement.GetProperty("events").EnumerateArray().Select(e => e.Clone())];
    }

    private async Task<JsonElement> ChangeAsync(string path, object body, Caller caller)
    {
        using var response = await SendAsync(HttpMethod.Post, path, AgenticClient.Json(body), caller);
        var text = await response.Content.ReadAsStringAsync(Token);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"POST {path} answered {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static List<(int, int, string?)> Diagnostics(JsonElement problem) =>
        [.. problem.GetProperty("errors").EnumerateArray().Select(e => (e.GetProperty("line").GetInt32(), e.GetProperty("column").GetInt32(), e.GetProperty("code").GetString()))];

    private static JsonValueKind ValueKind(JsonElement element, string property) =>
        element.TryGetProperty(property, out var value) ? value.ValueKind : JsonValueKind.Null;

    private static HttpContent Body(string path, string version = "1") =>
        path == "/api/agents" ? Yaml(Agent("e2e-denied", version)) : AgenticClient.Raw("""{"reason": "x"}""");

    private static StringContent Yaml(string text) => new(text, Encoding.UTF8, new MediaTypeHeaderValue("application/yaml"));

    /// <summary>A playbook agent that runs <paramref name="tool"/> once (read-only, so the baseline permits it).</summary>
    private static string Agent(string name, string version, string tool = "sample.diagnostics", string description = "Gathers diagnostics once.") =>
        $"name: {name}\nversion: \"{version}\"\ndescription: {description}\nautonomy: autonomous\ntools: [{tool}]\n"
        + $"playbook:\n  rules:\n    - rationale: Collect diagnostics.\n      steps:\n        - tool: {tool}\n          rationale: One sample.\n";

    private Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, HttpContent? body, Caller caller) =>
        host.Api.SendAsync(method, new Uri(path, UriKind.Relative), body, caller, Token);
}
