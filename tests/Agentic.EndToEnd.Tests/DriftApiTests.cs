using System.Net;
using System.Text.Json;
using Agentic.EndToEnd.Tests.Support;

namespace Agentic.EndToEnd.Tests;

/// <summary>
/// The contract of <c>GET /api/agents/{name}/drift</c> on the real host: operators and admins only, 404 for an unknown
/// agent, 400 naming a bad parameter, and a run's rejected step counted for the playbook that planned it.
/// </summary>
public sealed class DriftApiTests(ContractHost host) : IClassFixture<ContractHost>
{
    private static readonly Caller Admin = new("admin-2", "admin");

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public static TheoryData<string?, string?> Refused => new()
    {
        { null, null },
        { null, "operator" },
        { "requester", "requester" },
        { "viewer-1", null },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task Drift_AnonymousRequesterOrNoRole_Answers401Or403Problem(string? principal, string? roles)
    {
        using var response = await GetAsync("/api/agents/service-healer/drift", new Caller(principal, roles));

        // Unauthenticated callers (claiming roles in headers or not) get 401; authenticated ones without operator or admin 403.
        await Problems.AssertAsync(response, principal is null ? HttpStatusCode.Unauthorized : HttpStatusCode.Forbidden, field: null, Token);
    }

    [Fact]
    public async Task Drift_UnknownAgent_Answers404Problem()
    {
        using var response = await GetAsync("/api/agents/no-such-agent/drift", Caller.Operator);

        var problem = await Problems.AssertAsync(response, HttpStatusCode.NotFound, field: null, Token);
        Assert.Contains("no-such-agent", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("?window=2h", "window")]
    [InlineData("?window=24h&bucket=1m", "bucket")]
    [InlineData("?window=1h&bucket=1d", "bucket")]
    [InlineData("?bucket=7m", "bucket")]
    [InlineData("?window=1h&window=7d", "window")]
    public async Task Drift_WindowOrBucketItDoesNotAnswer_Answers400NamingTheParameter(string query, string field)
    {
        using var response = await GetAsync("/api/agents/task/drift" + query, Caller.Operator);

        await Problems.AssertAsync(response, HttpStatusCode.BadRequest, field, Token);
    }

    [Fact]
    public async Task Drift_AfterARejectedRestart_CountsItForThePlaybook_WithTheRunAsAnExample_ForOperatorsAndAdmins()
    {
        var (run, waiting) = await host.StartRunAwaitingApprovalAsync(Token);
        using (var rejected = await host.Api.DecideAsync(new Uri(waiting.PendingApproval!.ApprovePostUri!), "reject", Caller.Operator, Token))
        {
            Assert.Equal(HttpStatusCode.Accepted, rejected.StatusCode);
        }
        Assert.Equal("failed", (await host.PollAsync(run.Id, v => v.Status != "running", Token)).Status);

        foreach (var caller in new[] { Caller.Operator, Admin })
        {
            using var response = await GetAsync("/api/agents/service-healer/drift?window=1h&bucket=5m", caller);
            var body = await response.Content.ReadAsStringAsync(Token);
            Assert.True(response.StatusCode == HttpStatusCode.OK, body);
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
            var drift = JsonDocument.Parse(body).RootElement;
            Assert.Equal(("service-healer", "1h", "5m"), (drift.GetProperty("agent").GetString(), drift.GetProperty("window").GetString(), drift.GetProperty("bucket").GetString()));
            var playbook = drift.GetProperty("planners").EnumerateArray().Single(p => p.GetProperty("planner").GetString() == "playbook:service-healer@1");
            Assert.Equal("playbook", playbook.GetProperty("plannerKind").GetString());
            var plans = playbook.GetProperty("plans").GetInt32();
            var rejections = playbook.GetProperty("totals").GetProperty("approval-rejected").GetInt32();
            Assert.True(plans >= 1 && rejections >= 1 && rejections <= plans, body);
            Assert.Equal(Math.Round((double)rejections / plans, 4), playbook.GetProperty("rates").GetProperty("approval-rejected").GetDouble());
            Assert.Equal(rejections, playbook.GetProperty("buckets").EnumerateArray().Sum(b => b.GetProperty("counts").GetProperty("approval-rejected").GetInt32()));
            var example = playbook.GetProperty("examples").EnumerateArray().Single(e => e.GetProperty("runId").GetString() == run.Id);
            Assert.Equal(("approval-rejected", "s2", "s2/approval"), (example.GetProperty("kind").GetString(), example.GetProperty("stepId").GetString(), example.GetProperty("commandId").GetString()));
            Assert.StartsWith("Rejected by operator-1", example.GetProperty("reason").GetString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Drift_OfAnAgentWithoutRuns_IsEmpty_InTheDefaultWindow()
    {
        using var response = await GetAsync("/api/agents/scaler/drift", Admin);
        var body = await response.Content.ReadAsStringAsync(Token);

        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        var drift = JsonDocument.Parse(body).RootElement;
        Assert.Equal(("24h", "1h"), (drift.GetProperty("window").GetString(), drift.GetProperty("bucket").GetString()));
        Assert.Equal(["plan-invalid", "tool-not-offered", "tool-forbidden", "approval-rejected", "approval-timeout", "post-condition-failed"],
            drift.GetProperty("kinds").EnumerateArray().Select(k => k.GetString()));
        Assert.Empty(drift.GetProperty("planners").EnumerateArray());
    }

    private Task<HttpResponseMessage> GetAsync(string path, Caller caller) =>
        host.Api.SendAsync(HttpMethod.Get, new Uri(path, UriKind.Relative), null, caller, Token);
}
