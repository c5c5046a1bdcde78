using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Agentic.EndToEnd.Tests.Support;
using Agentic.Testing;

namespace Agentic.EndToEnd.Tests;

/// <summary>One real host (and fleet) on a hub of its own, for the policy lifecycle tests: the hub is named so the CLI can read it.</summary>
public sealed class PoliciesHost(AzuriteFixture storage) : IAsyncLifetime
{
    private SampleFleet? _fleet;

    /// <summary>The hub the host works on.</summary>
    public string Hub { get; } = Hubs.New("pol");

    /// <summary>The storage the host works on.</summary>
    public string ConnectionString => storage.Azurite.ConnectionString;

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
        // Refresh 0: an activation reaches the very next gate call, so the tests need not wait for the interval.
        Host = new AgenticHost(ConnectionString, Hub, new Dictionary<string, string?> { ["Agentic__Policy__RefreshSeconds"] = "0" }, _fleet);
        await Host.StartAsync();
        Api = new AgenticClient(Host.BaseUri);
    }

    /// <summary>Submits a diagnostics run (one probe) and waits until it has ended; answers its id and final status.</summary>
    public async Task<(string Id, string Status)> RunDiagnosticsAsync(CancellationToken cancellationToken)
    {
        var run = await Api.SubmitAsync(Workload.DiagnosticsBody(Fleet.Target("pol-" + Guid.NewGuid().ToString("N")[..8]), probes: 1), Caller.Requester, cancellationToken);
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < until)
        {
            var (status, view) = await Api.GetRunAsync(run.Id, cancellationToken);
            if (status == HttpStatusCode.OK)
            {
                return (run.Id, view!.Status);
            }
            await Task.Delay(100, cancellationToken);
        }
        Assert.Fail($"Run {run.Id} did not end within 60 s.\n{HostOutput.Tail(Host)}");
        return default;
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
/// The policy lifecycle on the real host: <c>/api/policies</c> (identified callers read, admins change: upload,
/// activate, shadow, rollback, simulate) and <c>agentic policy simulate</c> as a process against decisions recorded by real runs.
/// </summary>
public sealed class PoliciesApiTests(PoliciesHost host, ITestOutputHelper output) : IClassFixture<PoliciesHost>
{
    private static readonly Caller Admin = new("admin-1", "operator, admin");
    private static readonly Caller OtherAdmin = new("admin-2", "admin");

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public static TheoryData<string, string> Reads => new()
    {
        { "GET", "/api/policies" },
        { "GET", "/api/policies/versions" },
        { "GET", "/api/policies/history" },
        { "GET", "/api/policies/baseline/3" },
        { "POST", "/api/policies" },
        { "POST", "/api/policies/rollback" },
    };

    public static TheoryData<string, string?> Changes => new()
    {
        { "/api/policies", "operator" },
        { "/api/policies/baseline/3/activate", "operator" },
        { "/api/policies/shadow/clear", null },
        { "/api/policies/rollback", "administrator" },
        { "/api/policies/simulate", "viewer,operator" },
    };

    [Theory]
    [MemberData(nameof(Reads))]
    public async Task Policies_AnonymousCaller_Answers401Problem(string method, string path)
    {
        using var response = await SendAsync(new HttpMethod(method), path, null, principal: null, roles: "admin");

        await Problems.AssertAsync(response, HttpStatusCode.Unauthorized, field: null, Token);
    }

    [Theory]
    [MemberData(nameof(Changes))]
    public async Task PolicyChanges_CallerWithoutAdminRole_Answer403ProblemAndChangeNothing(string path, string? roles)
    {
        var before = await HistoryAsync();
        var body = path.EndsWith("/api/policies", StringComparison.Ordinal) || path.EndsWith("/simulate", StringComparison.Ordinal)
            ? Yaml(Policy("e2e-denied", "1"))
            : AgenticClient.Raw("""{"reason": "x", "mode": "enforce"}""");

        using var response = await SendAsync(HttpMethod.Post, path, body, "operator-1", roles);

        await Problems.AssertAsync(response, HttpStatusCode.Forbidden, field: null, Token);
        Assert.Equal(before.Count, (await HistoryAsync()).Count);
        using var versions = await SendAsync(HttpMethod.Get, "/api/policies/versions?id=e2e-denied", null, Admin.Principal, Admin.Roles);
        Assert.Empty(JsonDocument.Parse(await versions.Content.ReadAsStringAsync(Token)).RootElement.GetProperty("versions").EnumerateArray());
    }

    [Fact]
    public async Task Active_AfterHostStart_IsTheShippedBaselineActivatedByHostStartup()
    {
        using var response = await SendAsync(HttpMethod.Get, "/api/policies", null, "viewer-1", "requester");
        var body = await response.Content.ReadAsStringAsync(Token);

        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        Assert.NotNull(response.Headers.ETag);
        var history = await HistoryAsync();
        var startup = history.Last();
        Assert.Equal(("activate", "baseline", "enforce", "host:startup"), (startup.GetProperty("action").GetString(), startup.GetProperty("id").GetString(), startup.GetProperty("mode").GetString(), startup.GetProperty("by").GetString()));
        using var stored = await SendAsync(HttpMethod.Get, $"/api/policies/baseline/{startup.GetProperty("version").GetString()}", null, "viewer-1", "requester");
        var policy = JsonDocument.Parse(await stored.Content.ReadAsStringAsync(Token)).RootElement;
        Assert.Equal(HttpStatusCode.OK, stored.StatusCode);
        Assert.StartsWith("sha256:", policy.GetProperty("contentHash").GetString(), StringComparison.Ordinal);
        Assert.Contains("permit-read-only", policy.GetProperty("yaml").GetString(), StringComparison.Ordinal);
        Assert.Contains(policy.GetProperty("rules").EnumerateArray(), r => r.GetProperty("id").GetString() == "approve-high-risk" && r.GetProperty("effect").GetString() == "require_approval");
    }

    [Fact]
    public async Task Upload_PolicyThatDoesNotLoad_Answers400ListingEachDiagnosticWithLineAndColumn()
    {
        const string broken = """
            id: e2e-broken
            version: "1"
            rules:
              - id: r1
                effect: permit
                when: tool.colour == 'red'
              - id: r2
                effect: allow
            """;

        using var response = await SendAsync(HttpMethod.Post, "/api/policies", Yaml(broken), Admin.Principal, Admin.Roles);

        var problem = await Problems.AssertAsync(response, HttpStatusCode.BadRequest, field: "policy", Token);
        var diagnostics = problem.GetProperty("errors").EnumerateArray()
            .Select(e => (e.GetProperty("line").GetInt32(), e.GetProperty("column").GetInt32(), e.GetProperty("code").GetString())).ToList();
        Assert.Contains((6, 11, "unknown-attribute"), diagnostics);
        Assert.Contains((8, 13, "invalid-effect"), diagnostics);
    }

    [Theory]
    [InlineData("/api/policies/e2e-x/1/activate", """{"mode": "enforce"}""", "reason")]
    [InlineData("/api/policies/e2e-x/1/activate", """{"mode": "observe", "reason": "x"}""", "mode")]
    [InlineData("/api/policies/e2e-x/1/activate", """{"reason": "x", "colour": "red"}""", "$.colour")]
    [InlineData("/api/policies/e2e-x/1/activate", """{"reason": """, "$.reason")]
    [InlineData("/api/policies/e2e-x/1/activate", "", "$")]
    [InlineData("/api/policies/rollback", "{}", "reason")]
    [InlineData("/api/policies/shadow/clear", """{"reason": ""}""", "reason")]
    public async Task PolicyChanges_BadJsonBody_Answer400ProblemNamingTheField(string path, string body, string field)
    {
        using var response = await SendAsync(HttpMethod.Post, path, AgenticClient.Raw(body), Admin.Principal, Admin.Roles);

        await Problems.AssertAsync(response, HttpStatusCode.BadRequest, field, Token);
    }

    [Theory]
    [InlineData("/api/policies/simulate?since=yesterday", "since")]
    [InlineData("/api/policies/simulate?max=0", "max")]
    [InlineData("/api/policies", "$")]
    public async Task PolicyUploads_BadRequest_Answer400ProblemNamingTheField(string path, string field)
    {
        var body = field == "$" ? Yaml("  \n") : Yaml(Policy("e2e-sim", "1"));

        using var response = await SendAsync(HttpMethod.Post, path, body, Admin.Principal, Admin.Roles);

        await Problems.AssertAsync(response, HttpStatusCode.BadRequest, field, Token);
    }

    [Fact]
    public async Task Upload_AsJson_Answers415Problem()
    {
        using var response = await SendAsync(HttpMethod.Post, "/api/policies", AgenticClient.Raw("""{"id": "x"}"""), Admin.Principal, Admin.Roles);

        await Problems.AssertAsync(response, HttpStatusCode.UnsupportedMediaType, field: null, Token);
    }

    [Theory]
    [InlineData("GET", "/api/policies/e2e-none/1", null)]
    [InlineData("POST", "/api/policies/e2e-none/1/activate", """{"reason": "x"}""")]
    public async Task UnknownVersion_Answers404Problem(string method, string path, string? body)
    {
        using var response = await SendAsync(new HttpMethod(method), path, body is null ? null : AgenticClient.Raw(body), Admin.Principal, Admin.Roles);

        await Problems.AssertAsync(response, HttpStatusCode.NotFound, field: null, Token);
    }

    [Fact]
    public async Task Upload_NewThenSameThenOtherText_Answers201Then200Then409()
    {
        var text = Policy("e2e-upload", "1");

        using (var created = await SendAsync(HttpMethod.Post, "/api/policies", Yaml(text), Admin.Principal, Admin.Roles))
        {
            var body = JsonDocument.Parse(await created.Content.ReadAsStringAsync(Token)).RootElement;
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            Assert.Equal("/api/policies/e2e-upload/1", created.Headers.Location?.OriginalString);
            Assert.Equal(("e2e-upload", "1", "admin-1"), (body.GetProperty("id").GetString(), body.GetProperty("version").GetString(), body.GetProperty("savedBy").GetString()));
        }
        using (var same = await SendAsync(HttpMethod.Post, "/api/policies", Yaml(text), OtherAdmin.Principal, OtherAdmin.Roles))
        {
            Assert.Equal(HttpStatusCode.OK, same.StatusCode);
            Assert.Equal("admin-1", JsonDocument.Parse(await same.Content.ReadAsStringAsync(Token)).RootElement.GetProperty("savedBy").GetString());
        }
        using (var other = await SendAsync(HttpMethod.Post, "/api/policies", Yaml(Policy("e2e-upload", "1", forbidden: "sample.health")), Admin.Principal, Admin.Roles))
        {
            await Problems.AssertAsync(other, HttpStatusCode.Conflict, field: null, Token);
        }
        using var stored = await SendAsync(HttpMethod.Get, "/api/policies/e2e-upload/1", null, "viewer-1", "requester");
        Assert.Equal(text, JsonDocument.Parse(await stored.Content.ReadAsStringAsync(Token)).RootElement.GetProperty("yaml").GetString());
    }

    [Fact]
    public async Task UploadActivateShadowAndRollback_ChangeWhatIsActive_AndTheHistoryNamesWhoDidEach()
    {
        await UploadAsync(Policy("e2e-life", "1"));
        await UploadAsync(Policy("e2e-life", "2", forbidden: "sample.scale"));

        var first = await ChangeAsync("/api/policies/e2e-life/1/activate", new { mode = "enforce", reason = "adopt e2e-life" }, Admin);
        var second = await ChangeAsync("/api/policies/e2e-life/2/activate", new { reason = "no scaling" }, OtherAdmin);
        Assert.Equal(("e2e-life", "1", "admin-1"), Slot(first, "enforced"));
        Assert.Equal(("e2e-life", "2", "admin-2"), Slot(second, "enforced"));
        Assert.Equal("1", second.GetProperty("previous")[0].GetProperty("version").GetString());

        var shadowed = await ChangeAsync("/api/policies/e2e-life/1/activate", new { mode = "shadow", reason = "compare with v1" }, Admin);
        Assert.Equal(("e2e-life", "1", "admin-1"), Slot(shadowed, "shadow"));
        Assert.Equal(("e2e-life", "2", "admin-2"), Slot(shadowed, "enforced"));
        using (var self = await SendAsync(HttpMethod.Post, "/api/policies/e2e-life/2/activate", AgenticClient.Json(new { mode = "shadow", reason = "x" }), Admin.Principal, Admin.Roles))
        {
            await Problems.AssertAsync(self, HttpStatusCode.Conflict, field: null, Token);
        }
        var cleared = await ChangeAsync("/api/policies/shadow/clear", new { reason = "done comparing" }, OtherAdmin);
        Assert.False(cleared.TryGetProperty("shadow", out var shadow) && shadow.ValueKind != JsonValueKind.Null);
        using (var again = await SendAsync(HttpMethod.Post, "/api/policies/shadow/clear", AgenticClient.Json(new { reason = "again" }), Admin.Principal, Admin.Roles))
        {
            await Problems.AssertAsync(again, HttpStatusCode.Conflict, field: null, Token);
        }

        var rolledBack = await ChangeAsync("/api/policies/rollback", new { reason = "v2 blocks the scaler" }, OtherAdmin);
        Assert.Equal(("e2e-life", "1", "admin-2"), Slot(rolledBack, "enforced"));
        var history = await HistoryAsync();
        Assert.Equal(
            [("rollback", "1", "enforce", "admin-2"), ("clear-shadow", "1", "shadow", "admin-2"), ("activate", "1", "shadow", "admin-1"), ("activate", "2", "enforce", "admin-2"), ("activate", "1", "enforce", "admin-1")],
            history.Take(5).Select(h => (h.GetProperty("action").GetString(), h.GetProperty("version").GetString(), h.GetProperty("mode").GetString(), h.GetProperty("by").GetString())));
        Assert.Equal("v2 blocks the scaler", history[0].GetProperty("reason").GetString());
        Assert.Equal("e2e-life@2", history[0].GetProperty("replaced").GetString());

        // Rolling back further returns through every earlier version (the baseline, where the host started) and
        // then has nothing left: 409.
        for (var i = 0; ; i++)
        {
            using var rollback = await SendAsync(HttpMethod.Post, "/api/policies/rollback", AgenticClient.Json(new { reason = "further" }), Admin.Principal, Admin.Roles);
            if (rollback.StatusCode != HttpStatusCode.OK)
            {
                await Problems.AssertAsync(rollback, HttpStatusCode.Conflict, field: null, Token);
                break;
            }
            Assert.True(i < 25, "Rollback never ran out of previous versions.");
        }
        using var active = await SendAsync(HttpMethod.Get, "/api/policies", null, "viewer-1", "requester");
        Assert.Equal("baseline", JsonDocument.Parse(await active.Content.ReadAsStringAsync(Token)).RootElement.GetProperty("enforced").GetProperty("id").GetString());
    }

    [Fact]
    public async Task ActivatedPolicy_DecidesTheNextRun_UntilRolledBack()
    {
        await UploadAsync(Policy("e2e-gate", "1", forbidden: "sample.diagnostics"));
        await ChangeAsync("/api/policies/e2e-gate/1/activate", new { reason = "stop diagnostics" }, Admin);
        try
        {
            var (id, status) = await host.RunDiagnosticsAsync(Token);

            Assert.Equal("failed", status);
            var (_, view) = await host.Api.GetRunAsync(id, Token);
            Assert.Contains("forbidden by e2e-gate rule 'no-sample-diagnostics'", view!.FailureReason ?? "", StringComparison.Ordinal);
        }
        finally
        {
            await ChangeAsync("/api/policies/rollback", new { reason = "restore" }, Admin);
        }
        Assert.Equal("completed", (await host.RunDiagnosticsAsync(Token)).Status);
    }

    [Fact]
    public async Task SimulateApi_CandidateForbiddingARecordedTool_ListsThatRunsDecision()
    {
        var (runId, status) = await host.RunDiagnosticsAsync(Token);
        Assert.Equal("completed", status);

        using var response = await SendAsync(HttpMethod.Post, "/api/policies/simulate", Yaml(Policy("e2e-candidate", "1", forbidden: "sample.diagnostics")), Admin.Principal, Admin.Roles);
        var body = await response.Content.ReadAsStringAsync(Token);

        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        var report = JsonDocument.Parse(body).RootElement;
        var change = Assert.Single(report.GetProperty("changes").EnumerateArray(), c => c.GetProperty("runId").GetString() == runId);
        Assert.Equal(("sample.diagnostics", "permit", "forbid", "no-sample-diagnostics"),
            (change.GetProperty("tool").GetString(), change.GetProperty("recorded").GetProperty("effect").GetString(), change.GetProperty("candidate").GetProperty("effect").GetString(), change.GetProperty("candidate").GetProperty("rule").GetString()));
        Assert.True(report.GetProperty("evaluated").GetInt32() >= 1);
        Assert.Equal(0, report.GetProperty("changes").EnumerateArray().Count(c => c.GetProperty("tool").GetString() != "sample.diagnostics"));
    }

    [Fact]
    public async Task SimulateCommand_AgainstDecisionsOfRealRuns_ListsEveryDecisionThatWouldChange()
    {
        var (runId, status) = await host.RunDiagnosticsAsync(Token);
        Assert.Equal("completed", status);
        var candidate = TempFile(".yaml", Policy("e2e-candidate", "2", forbidden: "sample.diagnostics"));
        var settings = Settings();
        try
        {
            var (exit, text) = await RunCliAsync("policy", "simulate", "--policy", candidate, "--settings", settings);

            Assert.True(exit == 0, $"exit {exit}:\n{text}");
            var line = Assert.Single(text.Split('\n'), l => l.Contains(runId, StringComparison.Ordinal));
            Assert.Contains("sample.diagnostics", line, StringComparison.Ordinal);
            Assert.Contains("permit by baseline@", line, StringComparison.Ordinal);
            Assert.Contains("forbid by no-sample-diagnostics", line, StringComparison.Ordinal);
            var summary = System.Text.RegularExpressions.Regex.Match(text, @"(\d+) decisions re-evaluated, (\d+) would change, (\d+) not re-evaluable");
            Assert.True(summary.Success, text);
            Assert.True(int.Parse(summary.Groups[2].Value, CultureInfo.InvariantCulture) >= 1, text);

            var (laterExit, later) = await RunCliAsync("policy", "simulate", "--policy", candidate, "--settings", settings, "--since", DateTimeOffset.UtcNow.AddHours(1).ToString("o", CultureInfo.InvariantCulture));
            Assert.Equal(0, laterExit);
            Assert.Contains("0 decisions re-evaluated, 0 would change, 0 not re-evaluable", later, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(candidate);
            File.Delete(settings);
        }
    }

    [Fact]
    public async Task SimulateCommand_CandidateThatDoesNotLoad_Exits1WithFileLineAndColumn()
    {
        var candidate = TempFile(".yaml", "id: e2e-bad\nversion: \"1\"\nrules:\n  - id: r1\n    effect: permit\n    when: tool.colour == 'red'\n");
        try
        {
            var (exit, text) = await RunCliAsync("policy", "simulate", "--policy", candidate);

            Assert.True(exit == 1, $"exit {exit}:\n{text}");
            Assert.Contains($"{candidate}:6:11: unknown-attribute:", text, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(candidate);
        }
    }

    [Theory]
    [InlineData("policy", "simulate")]
    [InlineData("policy", "simulate", "--policy")]
    [InlineData("policy", "simulate", "--policy", "p.yaml", "--max", "many")]
    [InlineData("policy", "simulate", "--policy", "p.yaml", "--since", "last tuesday")]
    [InlineData("policy", "simulate", "--policy", "p.yaml", "--colour", "red")]
    public async Task SimulateCommand_UsageError_Exits2(params string[] args)
    {
        var (exit, text) = await RunCliAsync(args);

        Assert.True(exit == 2, $"exit {exit}:\n{text}");
        Assert.Contains("usage: agentic policy simulate", text, StringComparison.Ordinal);
    }

    private async Task<(int Exit, string Output)> RunCliAsync(params string[] args)
    {
        await using var cli = ChildProcess.Start("agentic-cli", "dotnet", [Repo.Output("Agentic.LocalHost", "agentic.dll"), .. args]);
        var clock = Stopwatch.StartNew();
        while (!cli.HasExited && clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(100, Token);
        }
        Assert.True(cli.HasExited, $"agentic {string.Join(' ', args)} did not finish within 60 s:\n{cli.Tail()}");
        // The exit can be seen before the last lines are read from the pipe: wait until output is quiet.
        for (var seen = -1; seen != cli.Lines.Count;)
        {
            seen = cli.Lines.Count;
            await Task.Delay(200, Token);
        }
        var text = string.Join('\n', cli.Lines);
        output.WriteLine($"agentic {string.Join(' ', args)} exited with {cli.ExitCode}:\n{text}");
        return (cli.ExitCode, text);
    }

    private string Settings() => TempFile(".settings.json", JsonSerializer.Serialize(new
    {
        Values = new Dictionary<string, string> { ["AgenticStorage"] = host.ConnectionString, ["Agentic__HubName"] = host.Hub },
    }));

    private static string TempFile(string extension, string text)
    {
        var path = Path.Combine(Path.GetTempPath(), $"agentic-policy-{Guid.NewGuid():N}{extension}");
        File.WriteAllText(path, text);
        return path;
    }

    private async Task UploadAsync(string yaml)
    {
        using var response = await SendAsync(HttpMethod.Post, "/api/policies", Yaml(yaml), Admin.Principal, Admin.Roles);
        Assert.True(response.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK, await response.Content.ReadAsStringAsync(Token));
    }

    private async Task<JsonElement> ChangeAsync(string path, object body, Caller caller)
    {
        using var response = await SendAsync(HttpMethod.Post, path, AgenticClient.Json(body), caller.Principal, caller.Roles);
        var text = await response.Content.ReadAsStringAsync(Token);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"POST {path} answered {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private async Task<List<JsonElement>> HistoryAsync()
    {
        using var response = await SendAsync(HttpMethod.Get, "/api/policies/history", null, "viewer-1", "requester");
        var body = await response.Content.ReadAsStringAsync(Token);
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return [.. JsonDocument.Parse(body).RootElement.GetProperty("events").EnumerateArray().Select(e => e.Clone())];
    }

    private static (string?, string?, string?) Slot(JsonElement active, string slot)
    {
        var s = active.GetProperty(slot);
        return (s.GetProperty("id").GetString(), s.GetProperty("version").GetString(), s.GetProperty("activatedBy").GetString());
    }

    private static StringContent Yaml(string text) => new(text, Encoding.UTF8, new MediaTypeHeaderValue("application/yaml"));

    /// <summary>A policy permitting read-only tools (like the baseline), forbidding <paramref name="forbidden"/> first when given.</summary>
    private static string Policy(string id, string version, string? forbidden = null)
    {
        var forbid = forbidden is null ? "" : $"  - id: no-{forbidden.Replace('.', '-')}\n    effect: forbid\n    when: tool.name == '{forbidden}'\n";
        return $"id: {id}\nversion: \"{version}\"\nrules:\n{forbid}  - id: permit-read-only\n    effect: permit\n    when: tool.sideEffect == 'read-only'\n";
    }

    private Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, HttpContent? body, string? principal, string? roles) =>
        host.Api.SendAsync(method, new Uri(path, UriKind.Relative), body, new Caller(principal, roles), Token);
}
