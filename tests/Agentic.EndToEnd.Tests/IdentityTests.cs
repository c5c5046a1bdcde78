using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Agentic.EndToEnd.Tests.Support;
using Agentic.Testing;

namespace Agentic.EndToEnd.Tests;

/// <summary>
/// Who may do what on the real host: every route but health authenticates with a key or a bearer token, nothing a
/// client says about itself counts, and each route lets exactly the roles it names through.
/// </summary>
public sealed class IdentityTests(ContractHost host) : IClassFixture<ContractHost>
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static readonly Caller Anonymous = new(null);
    private static readonly Caller NoRole = new("nobody", "");
    private static readonly Caller OtherRequester = new("requester-2", "requester");
    private static readonly Caller Admin = new("admin-2", "admin");
    private static readonly HttpStatusCode[] Readable = [HttpStatusCode.OK, HttpStatusCode.Accepted];

    /// <summary>Every route of the API but health, with a body its handler would accept from an allowed caller.</summary>
    public static TheoryData<string, string, string?> Routes => new()
    {
        { "POST", "/api/runs", """{"agent": "diagnostics", "target": "http://127.0.0.1:9/services/x"}""" },
        { "GET", "/api/runs", null },
        { "GET", "/api/approvals", null },
        { "GET", "/api/openapi.json", null },
        { "GET", "/api/runs/run-00000000000000000000000000000000", null },
        { "POST", "/api/runs/run-00000000000000000000000000000000/approvals/s1", """{"decision": "approve"}""" },
        { "POST", "/api/runs/run-00000000000000000000000000000000/terminate", null },
        { "GET", "/api/agents", null },
        { "GET", "/api/tools", null },
        { "GET", "/api/controls", null },
        { "GET", "/api/controls/history", null },
        { "POST", "/api/controls/kill-switch", """{"scope": "global", "reason": "x"}""" },
        { "POST", "/api/controls/kill-switch/release", """{"scope": "global", "reason": "x"}""" },
        { "POST", "/api/controls/quarantine", """{"tool": "sample.restart", "reason": "x"}""" },
        { "POST", "/api/controls/quarantine/release", """{"tool": "sample.restart", "reason": "x"}""" },
        { "GET", "/api/policies", null },
        { "GET", "/api/policies/versions", null },
        { "GET", "/api/policies/history", null },
        { "GET", "/api/policies/baseline/3", null },
        { "POST", "/api/policies/baseline/3/activate", """{"reason": "x"}""" },
        { "POST", "/api/policies/shadow/clear", """{"reason": "x"}""" },
        { "POST", "/api/policies/rollback", """{"reason": "x"}""" },
        { "GET", "/api/runs/run-00000000000000000000000000000000/audit", null },
        { "GET", "/api/runs/run-00000000000000000000000000000000/audit/verify", null },
        { "GET", "/api/runs/run-00000000000000000000000000000000/lineage/s1/act/outcome", null },
        { "GET", "/api/audit/keys", null },
        { "POST", "/api/audit/purge", """{"before": "2000-01-01T00:00:00Z", "reason": "x"}""" },
        { "GET", "/api/mcp/tools", null },
        { "GET", "/api/me", null },
        { "POST", "/api/mcp/pins", """{"tool": "mcp.files.read", "hash": "sha256:0000000000000000000000000000000000000000000000000000000000000000", "reason": "x"}""" },
    };

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task EveryRoute_Anonymous_Answers401ProblemWithChallenge_EvenWithForgedIdentityHeaders(string method, string path, string? body)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(path, UriKind.Relative)) { Content = body is null ? null : AgenticClient.Raw(body) };
        request.Headers.Add("X-Agentic-Principal", "mallory");
        request.Headers.Add("X-Agentic-Roles", "admin,operator,requester");
        request.Headers.Add("X-MS-CLIENT-PRINCIPAL", Principal("mallory-oid", "admin"));
        request.Headers.Add("X-MS-CLIENT-PRINCIPAL-NAME", "mallory");

        using var response = await host.Api.Http.SendAsync(request, Token);

        await Problems.AssertAsync(response, HttpStatusCode.Unauthorized, field: null, Token);
        Assert.Contains(response.Headers.WwwAuthenticate, c => c.Scheme == "Bearer");
        Assert.Contains(response.Headers.WwwAuthenticate, c => c.Scheme == "Key");
    }

    [Fact]
    public async Task Health_Anonymous_Answers200()
    {
        using var response = await host.Api.Http.GetAsync(new Uri("/api/health", UriKind.Relative), Token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("not-a-key")]
    [InlineData("")]
    [InlineData("x-very-long-key-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")]
    public async Task BadKey_Answers401(string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/api/agents", UriKind.Relative));
        request.Headers.Add(TestIdentities.KeyHeader, key);

        using var response = await host.Api.Http.SendAsync(request, Token);

        await Problems.AssertAsync(response, HttpStatusCode.Unauthorized, field: null, Token);
    }

    [Fact]
    public async Task Key_InTheCodeQueryParameter_Authenticates()
    {
        var key = Uri.EscapeDataString(TestIdentities.Key("requester", "requester"));

        using var response = await host.Api.Http.GetAsync(new Uri("/api/agents?code=" + key, UriKind.Relative), Token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task BearerToken_NamesTheCallerByObjectId_NeverByDisplayName()
    {
        var token = TestIdentities.MintToken("3f1c-oid-requester", ["requester"], name: "operator-1");

        var run = await SubmitWithTokenAsync(token);
        using var read = await SendWithTokenAsync(HttpMethod.Get, run.StatusQueryGetUri, token);
        var view = JsonDocument.Parse(await read.Content.ReadAsStringAsync(Token)).RootElement;

        Assert.Equal("3f1c-oid-requester", view.GetProperty("principal").GetString());
    }

    [Fact]
    public async Task BearerToken_WithoutOid_FallsBackToSub()
    {
        var token = TestIdentities.MintToken(oid: null, ["requester"], sub: "sub-7");

        var run = await SubmitWithTokenAsync(token);
        using var read = await SendWithTokenAsync(HttpMethod.Get, run.StatusQueryGetUri, token);

        Assert.Equal("sub-7", JsonDocument.Parse(await read.Content.ReadAsStringAsync(Token)).RootElement.GetProperty("principal").GetString());
    }

    // Tokens are minted when the test runs: theory data may be enumerated by another process, with other keys.
    private static string BadToken(string why) => why switch
    {
        "expired" => TestIdentities.MintToken("oid-1", ["admin"], expires: DateTime.UtcNow.AddMinutes(-10)),
        "audience" => TestIdentities.MintToken("oid-1", ["admin"], audience: "api://someone-else"),
        "issuer" => TestIdentities.MintToken("oid-1", ["admin"], issuer: "https://login.evil.test/v2.0"),
        "other-key" => TestIdentities.MintToken("oid-1", ["admin"], signingKey: TestIdentities.NewSecret(32, base64Url: false)),
        "unsigned" => TestIdentities.MintToken("oid-1", ["admin"], withoutSignature: true),
        "principal" => TestIdentities.MintToken(oid: null, ["admin"], name: "admin-2"),
        _ => "not.a.token",
    };

    [Theory]
    [InlineData("expired", "expired")]
    [InlineData("audience", "audience")]
    [InlineData("issuer", "issuer")]
    [InlineData("other-key", "signature")]
    [InlineData("unsigned", "token")]
    [InlineData("malformed", "token")]
    [InlineData("principal", "principal")]
    public async Task BadBearerToken_Answers401SayingWhy(string kind, string said)
    {
        using var response = await SendWithTokenAsync(HttpMethod.Get, "/api/controls", BadToken(kind));

        var problem = await Problems.AssertAsync(response, HttpStatusCode.Unauthorized, field: null, Token);
        Assert.Contains(said, problem.GetProperty("detail").GetString()!, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task ForgedRoleHeaders_NextToARealKey_AreIgnored()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/api/controls/kill-switch", UriKind.Relative))
        {
            Content = AgenticClient.Raw("""{"scope": "global", "reason": "forged"}"""),
        };
        Caller.Requester.SignIn(request);
        request.Headers.Add("X-Agentic-Principal", "admin-2");
        request.Headers.Add("X-Agentic-Roles", "admin");
        request.Headers.Add("X-MS-CLIENT-PRINCIPAL", Principal("admin-oid", "admin"));

        using var response = await host.Api.Http.SendAsync(request, Token);

        await Problems.AssertAsync(response, HttpStatusCode.Forbidden, field: null, Token);
        using var controls = await host.Api.SendAsync(HttpMethod.Get, new Uri("/api/controls", UriKind.Relative), null, Admin, Token);
        Assert.DoesNotContain("global", await controls.Content.ReadAsStringAsync(Token), StringComparison.Ordinal);
    }

    public static TheoryData<string, string, string, string, HttpStatusCode> Matrix => new()
    {
        // Who am I: any authenticated caller, with or without a role.
        { "GET", "/api/me", "nobody", "", HttpStatusCode.OK },
        { "GET", "/api/me", "requester", "requester", HttpStatusCode.OK },
        // Catalogs and policy reads: any of the API's roles.
        { "GET", "/api/agents", "nobody", "", HttpStatusCode.Forbidden },
        { "GET", "/api/agents", "requester", "requester", HttpStatusCode.OK },
        { "GET", "/api/tools", "nobody", "", HttpStatusCode.Forbidden },
        { "GET", "/api/tools", "operator-1", "operator", HttpStatusCode.OK },
        { "GET", "/api/policies", "nobody", "", HttpStatusCode.Forbidden },
        { "GET", "/api/policies", "requester", "requester", HttpStatusCode.OK },
        // Controls: admin only.
        { "GET", "/api/controls", "requester", "requester", HttpStatusCode.Forbidden },
        { "GET", "/api/controls", "operator-1", "operator", HttpStatusCode.Forbidden },
        { "GET", "/api/controls", "admin-2", "admin", HttpStatusCode.OK },
        { "GET", "/api/controls/history", "admin-2", "admin", HttpStatusCode.OK },
        // Policy changes: admin only.
        { "POST", "/api/policies/rollback", "operator-1", "operator", HttpStatusCode.Forbidden },
        { "POST", "/api/policies/shadow/clear", "requester", "requester", HttpStatusCode.Forbidden },
        // Audit purge: admin only.
        { "POST", "/api/audit/purge", "operator-1", "operator", HttpStatusCode.Forbidden },
        { "POST", "/api/audit/purge", "requester", "requester", HttpStatusCode.Forbidden },
        // MCP tools and pins: admin only.
        { "GET", "/api/mcp/tools", "requester", "requester", HttpStatusCode.Forbidden },
        { "GET", "/api/mcp/tools", "operator-1", "operator", HttpStatusCode.Forbidden },
        { "GET", "/api/mcp/tools", "admin-2", "admin", HttpStatusCode.OK },
        { "POST", "/api/mcp/pins", "operator-1", "operator", HttpStatusCode.Forbidden },
        { "POST", "/api/mcp/pins", "requester", "requester", HttpStatusCode.Forbidden },
        // Listing runs: any of the API's roles (a requester's list is their own runs).
        { "GET", "/api/runs", "nobody", "", HttpStatusCode.Forbidden },
        { "GET", "/api/runs", "requester", "requester", HttpStatusCode.OK },
        { "GET", "/api/runs", "admin-2", "admin", HttpStatusCode.OK },
        // Pending approvals: any role (approver roles are the policy's); none answers 403.
        { "GET", "/api/approvals", "nobody", "", HttpStatusCode.Forbidden },
        { "GET", "/api/approvals", "requester", "requester", HttpStatusCode.OK },
        { "GET", "/api/approvals", "operator-2", "viewer", HttpStatusCode.OK },
        { "GET", "/api/approvals", "operator-1", "operator", HttpStatusCode.OK },
        // The OpenAPI document: any of the API's roles.
        { "GET", "/api/openapi.json", "nobody", "", HttpStatusCode.Forbidden },
        { "GET", "/api/openapi.json", "admin-2", "admin", HttpStatusCode.OK },
        // Submitting: requester only.
        { "POST", "/api/runs", "operator-1", "operator", HttpStatusCode.Forbidden },
        { "POST", "/api/runs", "admin-2", "admin", HttpStatusCode.Forbidden },
        { "POST", "/api/runs", "nobody", "", HttpStatusCode.Forbidden },
    };

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task RoleMatrix_EachRouteLetsExactlyItsRolesThrough(string method, string path, string principal, string roles, HttpStatusCode expected)
    {
        var body = method == "POST"
            ? path == "/api/runs" ? AgenticClient.Json(Workload.DiagnosticsBody(host.Fleet.Target("matrix"), probes: 1)) : AgenticClient.Raw("""{"reason": "matrix"}""")
            : null;

        using var response = await host.Api.SendAsync(new HttpMethod(method), new Uri(path, UriKind.Relative), body, new Caller(principal, roles), Token);

        if (expected == HttpStatusCode.OK)
        {
            Assert.True(response.StatusCode == expected, $"{method} {path} as {principal} ({roles}): {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(Token)}");
        }
        else
        {
            await Problems.AssertAsync(response, expected, field: null, Token);
        }
    }

    [Fact]
    public async Task Runs_AreReadAndTerminatedByTheirRequesterOrOperatorsOnly()
    {
        var run = await host.Api.SubmitAsync(Workload.DiagnosticsBody(host.Fleet.Target("owned"), probes: 50), Caller.Requester, Token);
        var uri = new Uri(run.StatusQueryGetUri);

        Assert.Equal(HttpStatusCode.NotFound, await StatusAsync(HttpMethod.Get, uri, OtherRequester));
        Assert.Equal(HttpStatusCode.Forbidden, await StatusAsync(HttpMethod.Get, uri, NoRole));
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(HttpMethod.Get, uri, Anonymous));
        Assert.Contains(await StatusAsync(HttpMethod.Get, uri, Caller.Requester), Readable);
        Assert.Contains(await StatusAsync(HttpMethod.Get, uri, Caller.Operator), Readable);
        Assert.Contains(await StatusAsync(HttpMethod.Get, uri, Admin), Readable);

        Assert.Equal(HttpStatusCode.NotFound, await StatusAsync(HttpMethod.Post, new Uri(run.TerminatePostUri), OtherRequester));
        Assert.Equal(HttpStatusCode.Forbidden, await StatusAsync(HttpMethod.Post, new Uri(run.TerminatePostUri), NoRole));
        Assert.Equal("running", (await host.Api.GetRunAsync(run.Id, Token)).Run!.Status);
        Assert.Equal(HttpStatusCode.Accepted, await StatusAsync(HttpMethod.Post, new Uri(run.TerminatePostUri), Caller.Requester));
        var ended = await host.PollAsync(run.Id, v => v.Status != "running", Token);
        Assert.Equal("terminated", ended.Status);
    }

    [Fact]
    public async Task RunAudit_IsReadByItsRequesterOrOperatorsOnly_AndVerifiesWithTheServedKey()
    {
        var run = await host.Api.SubmitAsync(Workload.DiagnosticsBody(host.Fleet.Target("audited"), probes: 2), Caller.Requester, Token);
        var ended = await host.PollAsync(run.Id, v => v.Status != "running", Token);
        Assert.Equal("completed", ended.Status);
        var audit = new Uri($"/api/runs/{run.Id}/audit", UriKind.Relative);
        var verify = new Uri($"/api/runs/{run.Id}/audit/verify", UriKind.Relative);
        var lineage = new Uri($"/api/runs/{run.Id}/lineage/s2/act/outcome", UriKind.Relative);

        foreach (var uri in new[] { audit, verify, lineage })
        {
            Assert.Equal(HttpStatusCode.NotFound, await StatusAsync(HttpMethod.Get, uri, OtherRequester));
            Assert.Equal(HttpStatusCode.Forbidden, await StatusAsync(HttpMethod.Get, uri, NoRole));
            Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(HttpMethod.Get, uri, Anonymous));
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(HttpMethod.Get, uri, Caller.Requester));
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(HttpMethod.Get, uri, Caller.Operator));
        }

        using var verified = await host.Api.SendAsync(HttpMethod.Get, verify, null, Caller.Operator, Token);
        var report = JsonDocument.Parse(await verified.Content.ReadAsStringAsync(Token)).RootElement;
        Assert.True(report.GetProperty("valid").GetBoolean(), report.ToString());
        Assert.True(report.GetProperty("covered").GetBoolean(), report.ToString());
        using var traced = await host.Api.SendAsync(HttpMethod.Get, lineage, null, Caller.Requester, Token);
        var ancestors = JsonDocument.Parse(await traced.Content.ReadAsStringAsync(Token)).RootElement.GetProperty("ancestors").EnumerateArray().Select(r => r.GetProperty("id").GetString()).ToList();
        Assert.Equal(["accepted", "perceive", "plan", "s2/gate", "s2/act"], ancestors);
        // The served key is the one checkpoints are signed with, and only its public half.
        using var keys = await host.Api.SendAsync(HttpMethod.Get, new Uri("/api/audit/keys", UriKind.Relative), null, Caller.Requester, Token);
        var served = await keys.Content.ReadAsStringAsync(Token);
        Assert.DoesNotContain("PRIVATE", served, StringComparison.Ordinal);
        var keyId = JsonDocument.Parse(served).RootElement[0].GetProperty("keyId").GetString();
        Assert.Equal(report.GetProperty("chain").GetProperty("coverage").GetProperty("keyId").GetString(), keyId);
        Assert.Equal(Agentic.Core.Audit.AuditPublicKey.ParseAll(TestIdentities.AuditSigningKey).Single().KeyId, keyId);
    }

    [Fact]
    public async Task AuditPurge_ByAnAdmin_RefusesAnythingWithinTheRetention_AndPurgesOnlyWhatIsOlder()
    {
        var purge = new Uri("/api/audit/purge", UriKind.Relative);
        var recent = DateTimeOffset.UtcNow.AddDays(-1).ToString("O", System.Globalization.CultureInfo.InvariantCulture);

        using var tooSoon = await host.Api.SendAsync(HttpMethod.Post, purge, AgenticClient.Raw($$"""{"before": "{{recent}}", "reason": "cleanup"}"""), Admin, Token);
        await Problems.AssertAsync(tooSoon, HttpStatusCode.BadRequest, field: "before", Token);
        using var noReason = await host.Api.SendAsync(HttpMethod.Post, purge, AgenticClient.Raw("""{"before": "2000-01-01T00:00:00Z"}"""), Admin, Token);
        await Problems.AssertAsync(noReason, HttpStatusCode.BadRequest, field: "reason", Token);

        using var old = await host.Api.SendAsync(HttpMethod.Post, purge, AgenticClient.Raw("""{"before": "2000-01-01T00:00:00Z", "reason": "retention"}"""), Admin, Token);
        Assert.Equal(HttpStatusCode.OK, old.StatusCode);
        var report = JsonDocument.Parse(await old.Content.ReadAsStringAsync(Token)).RootElement;
        Assert.Equal(0, report.GetProperty("purged").GetArrayLength());
        Assert.False(report.GetProperty("more").GetBoolean());
    }

    [Fact]
    public async Task IdempotencyKey_OfAnotherPrincipal_NeverFindsTheirRun()
    {
        var key = "shared-" + Guid.NewGuid().ToString("N");
        var mine = await host.Api.SubmitAsync(Workload.DiagnosticsBody(host.Fleet.Target("mine"), probes: 1, idempotencyKey: key), Caller.Requester, Token);
        var theirs = await host.Api.SubmitAsync(Workload.DiagnosticsBody(host.Fleet.Target("mine"), probes: 1, idempotencyKey: key), OtherRequester, Token);

        Assert.NotEqual(mine.Id, theirs.Id);
        Assert.True(theirs.Created);
        Assert.Equal(HttpStatusCode.NotFound, await StatusAsync(HttpMethod.Get, new Uri(mine.StatusQueryGetUri), OtherRequester));
    }

    [Theory]
    [InlineData("REQUESTER")]
    [InlineData("\uFF52\uFF45\uFF51\uFF55\uFF45\uFF53\uFF54\uFF45\uFF52")]
    [InlineData("Re\u200Bquester")]
    public async Task Approve_ByAVariantOfTheRequestersId_Answers403AndTheRunKeepsWaiting(string variant)
    {
        var (run, _) = await host.StartRunAwaitingApprovalAsync(Token);

        using var response = await host.Api.DecideAsync(AgenticClient.ApprovalUri(run, Workload.RestartStep), "approve", new Caller(variant, "operator"), Token);

        await Problems.AssertAsync(response, HttpStatusCode.Forbidden, field: null, Token);
        var (_, view) = await host.Api.GetRunAsync(run.Id, Token);
        Assert.Equal(Workload.RestartStep, view!.PendingApproval?.StepId);
        Assert.Null(view.Steps.Single(s => s.StepId == Workload.RestartStep).Approval);
    }

    [Theory]
    [InlineData("jose\u0301")]
    [InlineData("JOSE\u0301")]
    public async Task Approve_ByTheRequesterWrittenWithACombiningAccent_Answers403(string variant)
    {
        var service = "accent-" + Guid.NewGuid().ToString("N")[..8];
        await host.Fleet.DegradeAsync(service);
        var run = await host.Api.SubmitAsync(Workload.HealerBody(host.Fleet.Target(service)), new Caller("jos\u00E9", "requester"), Token);
        await host.PollAsync(run.Id, v => v.PendingApproval is not null, Token);

        using var response = await host.Api.DecideAsync(AgenticClient.ApprovalUri(run, Workload.RestartStep), "approve", new Caller(variant, "operator"), Token);

        await Problems.AssertAsync(response, HttpStatusCode.Forbidden, field: null, Token);
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("multipart/form-data; boundary=x")]
    public async Task PostRun_WithABodyBrowsersMaySendCrossSite_Answers415(string contentType)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/api/runs", UriKind.Relative))
        {
            Content = new ByteArrayContent(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(Workload.DiagnosticsBody(host.Fleet.Target("csrf"), probes: 1)))),
        };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        Caller.Requester.SignIn(request);

        using var response = await host.Api.Http.SendAsync(request, Token);

        await Problems.AssertAsync(response, HttpStatusCode.UnsupportedMediaType, field: null, Token);
    }

    [Theory]
    [InlineData("evil.example")]
    [InlineData("127.0.0.1.nip.io")]
    public async Task Request_ForAHostNameTheHostDoesNotServe_IsRefused(string hostName)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/api/health", UriKind.Relative));
        request.Headers.Host = hostName + ":" + host.Host.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);

        using var response = await host.Api.Http.SendAsync(request, Token);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    private async Task<Core.Runs.RunCreatedView> SubmitWithTokenAsync(string token)
    {
        using var response = await SendWithTokenAsync(HttpMethod.Post, "/api/runs", token, AgenticClient.Json(Workload.DiagnosticsBody(host.Fleet.Target("token"), probes: 1)));
        var text = await response.Content.ReadAsStringAsync(Token);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, text);
        return JsonSerializer.Deserialize<Core.Runs.RunCreatedView>(text, Core.Json.AgenticJson.Options)!;
    }

    private async Task<HttpResponseMessage> SendWithTokenAsync(HttpMethod method, string uri, string token, HttpContent? body = null)
    {
        using var request = new HttpRequestMessage(method, new Uri(uri, UriKind.RelativeOrAbsolute)) { Content = body };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await host.Api.Http.SendAsync(request, Token);
    }

    private async Task<HttpStatusCode> StatusAsync(HttpMethod method, Uri uri, Caller caller)
    {
        using var response = await host.Api.SendAsync(method, uri, null, caller, Token);
        return response.StatusCode;
    }

    // An App Service principal document, as a client could forge it.
    private static string Principal(string oid, string role) => Convert.ToBase64String(Encoding.UTF8.GetBytes(
        $$"""{"auth_typ":"aad","claims":[{"typ":"http://schemas.microsoft.com/identity/claims/objectidentifier","val":"{{oid}}"},{"typ":"roles","val":"{{role}}"}]}"""));
}
