using System.Net;
using System.Text.Json;
using Agentic.EndToEnd.Tests.Support;

namespace Agentic.EndToEnd.Tests;

/// <summary>The HTTP contract of <c>/api/controls</c> on the real host: admin only, strict bodies, engage and release.</summary>
public sealed class ControlsApiTests(ContractHost host) : IClassFixture<ContractHost>
{
    private static readonly Caller Admin = new("admin-1", "operator, admin");

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public static TheoryData<string, string, string?, string?> Refused => new()
    {
        { "GET", "/api/controls", null, null },
        { "GET", "/api/controls", "operator-1", "operator" },
        { "POST", "/api/controls/kill-switch", null, "admin" },
        { "POST", "/api/controls/kill-switch", "operator-1", "operator" },
        { "POST", "/api/controls/kill-switch/release", "viewer-1", null },
        { "POST", "/api/controls/quarantine", "operator-1", "operator,viewer" },
        { "POST", "/api/controls/quarantine/release", null, null },
        { "GET", "/api/controls/history", "operator-1", "administrator" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task Controls_NonAdminOrAnonymous_Answer401Or403ProblemAndChangeNothing(string method, string path, string? principal, string? roles)
    {
        using var response = await SendAsync(new HttpMethod(method), path, method == "POST" ? """{"scope": "global", "tool": "sample.restart", "reason": "x"}""" : null, principal, roles);

        // Unauthenticated callers (claiming roles in headers or not) get 401; authenticated ones without the admin role 403.
        await Problems.AssertAsync(response, principal is null ? HttpStatusCode.Unauthorized : HttpStatusCode.Forbidden, field: null, Token);
        Assert.DoesNotContain(await ActiveAsync(), c => c.GetProperty("scope").GetString() == "global");
    }

    [Theory]
    [InlineData("/api/controls/kill-switch", """{"scope": "galaxy", "reason": "x"}""", "scope")]
    [InlineData("/api/controls/kill-switch", """{"reason": "x"}""", "scope")]
    [InlineData("/api/controls/kill-switch", """{"scope": "tool", "reason": "x"}""", "target")]
    [InlineData("/api/controls/kill-switch", """{"scope": "tool", "target": "no.such.tool", "reason": "x"}""", "target")]
    [InlineData("/api/controls/kill-switch", """{"scope": "agent", "target": "no-such-agent", "reason": "x"}""", "target")]
    [InlineData("/api/controls/kill-switch", """{"scope": "global", "target": "everything", "reason": "x"}""", "target")]
    [InlineData("/api/controls/kill-switch", """{"scope": "global"}""", "reason")]
    [InlineData("/api/controls/kill-switch", """{"scope": "global", "reason": "x", "colour": "red"}""", "$.colour")]
    [InlineData("/api/controls/kill-switch", """{"scope": "global", "reason": """, "$.reason")]
    [InlineData("/api/controls/kill-switch", "", "$")]
    [InlineData("/api/controls/quarantine", """{"reason": "x"}""", "tool")]
    [InlineData("/api/controls/quarantine", """{"tool": "sample.restart"}""", "reason")]
    [InlineData("/api/controls/quarantine", """{"tool": "sample.restart", "reason": "x", "scope": "tool"}""", "$.scope")]
    [InlineData("/api/controls/quarantine/release", """{"tool": ""}""", "tool")]
    public async Task Controls_BadBody_Answers400ProblemNamingTheField(string path, string body, string field)
    {
        using var response = await SendAsync(HttpMethod.Post, path, body, Admin.Principal, Admin.Roles);

        await Problems.AssertAsync(response, HttpStatusCode.BadRequest, field, Token);
    }

    [Fact]
    public async Task KillSwitch_EngagedListedAndReleased_Answers200Then204Then404()
    {
        using (var engaged = await SendAsync(HttpMethod.Post, "/api/controls/kill-switch", """{"scope": "agent", "target": "scaler", "reason": "contract test"}""", Admin.Principal, Admin.Roles))
        {
            var body = await engaged.Content.ReadAsStringAsync(Token);
            Assert.True(engaged.StatusCode == HttpStatusCode.OK, body);
            var control = JsonDocument.Parse(body).RootElement;
            Assert.Equal("kill-switch:agent:scaler", control.GetProperty("rule").GetString());
            Assert.Equal("admin-1", control.GetProperty("engagedBy").GetString());
            Assert.Equal("contract test", control.GetProperty("reason").GetString());
        }
        Assert.Contains(await ActiveAsync(), c => c.GetProperty("rule").GetString() == "kill-switch:agent:scaler");

        using (var released = await SendAsync(HttpMethod.Post, "/api/controls/kill-switch/release", """{"scope": "agent", "target": "scaler", "reason": "done"}""", Admin.Principal, Admin.Roles))
        {
            Assert.Equal(HttpStatusCode.NoContent, released.StatusCode);
        }
        Assert.DoesNotContain(await ActiveAsync(), c => c.GetProperty("rule").GetString() == "kill-switch:agent:scaler");
        using (var again = await SendAsync(HttpMethod.Post, "/api/controls/kill-switch/release", """{"scope": "agent", "target": "scaler"}""", Admin.Principal, Admin.Roles))
        {
            await Problems.AssertAsync(again, HttpStatusCode.NotFound, field: null, Token);
        }
        using var history = await SendAsync(HttpMethod.Get, "/api/controls/history", null, Admin.Principal, Admin.Roles);
        var events = JsonDocument.Parse(await history.Content.ReadAsStringAsync(Token)).RootElement.GetProperty("events").EnumerateArray()
            .Where(e => e.GetProperty("target").GetString() == "scaler").Select(e => e.GetProperty("action").GetString()).ToList();
        Assert.Equal(["release", "engage"], events);
    }

    [Fact]
    public async Task Quarantine_Engaged_ForbidsTheToolInARunUntilReleased()
    {
        using (var engaged = await SendAsync(HttpMethod.Post, "/api/controls/quarantine", """{"tool": "sample.diagnostics", "reason": "bad probe build"}""", Admin.Principal, Admin.Roles))
        {
            Assert.Equal(HttpStatusCode.OK, engaged.StatusCode);
        }
        try
        {
            var run = await host.Api.SubmitAsync(Workload.DiagnosticsBody(host.Fleet.Target("quarantined"), probes: 1), Caller.Requester, Token);
            var done = await host.PollAsync(run.Id, v => v.Status != "running", Token);

            Assert.Equal("failed", done.Status);
            Assert.Contains("quarantine:tool:sample.diagnostics", done.FailureReason ?? "", StringComparison.Ordinal);
            Assert.Contains("bad probe build", done.FailureReason ?? "", StringComparison.Ordinal);
        }
        finally
        {
            using var released = await SendAsync(HttpMethod.Post, "/api/controls/quarantine/release", """{"tool": "sample.diagnostics", "reason": "fixed"}""", Admin.Principal, Admin.Roles);
            Assert.Equal(HttpStatusCode.NoContent, released.StatusCode);
        }
        var after = await host.Api.SubmitAsync(Workload.DiagnosticsBody(host.Fleet.Target("released"), probes: 1), Caller.Requester, Token);
        Assert.Equal("completed", (await host.PollAsync(after.Id, v => v.Status != "running", Token)).Status);
    }

    private async Task<List<JsonElement>> ActiveAsync()
    {
        using var response = await SendAsync(HttpMethod.Get, "/api/controls", null, Admin.Principal, Admin.Roles);
        var body = await response.Content.ReadAsStringAsync(Token);
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return [.. JsonDocument.Parse(body).RootElement.GetProperty("controls").EnumerateArray().Select(e => e.Clone())];
    }

    private Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? body, string? principal, string? roles) =>
        host.Api.SendAsync(method, new Uri(path, UriKind.Relative), body is null ? null : AgenticClient.Raw(body), new Caller(principal, roles), Token);
}
