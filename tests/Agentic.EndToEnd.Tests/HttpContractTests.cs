using System.Net;
using System.Text.Json;
using Agentic.EndToEnd.Tests.Support;

namespace Agentic.EndToEnd.Tests;

/// <summary>The HTTP contract of the real host (the Durable Functions-like management API), over loopback only.</summary>
public sealed class HttpContractTests(ContractHost host) : IClassFixture<ContractHost>
{
    private static readonly string Target = "http://127.0.0.1:9/services/anything";

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task PostRun_ValidRequest_Answers202WithLocationRetryAfterAndManagementUris()
    {
        using var response = await host.Api.PostRunAsync(AgenticClient.Json(Workload.DiagnosticsBody(host.Fleet.Target("contract"), probes: 1)), Caller.Requester, Token);
        var body = await response.Content.ReadAsStringAsync(Token);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var created = JsonDocument.Parse(body).RootElement;
        var id = created.GetProperty("id").GetString()!;
        var status = created.GetProperty("statusQueryGetUri").GetString()!;
        Assert.StartsWith("run-", id, StringComparison.Ordinal);
        Assert.Equal(new Uri(host.Host.BaseUri, "/api/runs/" + id), new Uri(status));
        Assert.Equal(new Uri(status), response.Headers.Location);
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Equal(status + "/terminate", created.GetProperty("terminatePostUri").GetString());
        Assert.Equal(status + "/approvals/{stepId}", created.GetProperty("approvalPostUriTemplate").GetString());
        Assert.True(created.GetProperty("created").GetBoolean());
    }

    [Fact]
    public async Task GetRun_Answers202WhileRunning_And200WithTheOutcomeOnceTerminal()
    {
        var (run, waiting) = await host.StartRunAwaitingApprovalAsync(Token);
        using (var running = await host.Api.SendAsync(HttpMethod.Get, new Uri(run.StatusQueryGetUri), null, Caller.Requester, Token))
        {
            Assert.Equal(HttpStatusCode.Accepted, running.StatusCode);
            Assert.NotNull(running.Headers.RetryAfter);
        }
        Assert.Equal("running", waiting.Status);
        Assert.Equal(Workload.RestartStep, waiting.PendingApproval!.StepId);
        Assert.Equal(AgenticClient.ApprovalUri(run, Workload.RestartStep), new Uri(waiting.PendingApproval.ApprovePostUri!));

        using (var approved = await host.Api.DecideAsync(new Uri(waiting.PendingApproval.ApprovePostUri!), "approve", Caller.Operator, Token))
        {
            Assert.Equal(HttpStatusCode.Accepted, approved.StatusCode);
        }
        await host.PollAsync(run.Id, v => v.Status != "running", Token);
        var (status, done) = await host.Api.GetRunAsync(run.Id, Token);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("completed", done!.Status);
        Assert.Equal("remediated", done.Output?.Outcome);
        Assert.Equal("operator-1", done.Steps.Single(s => s.StepId == Workload.RestartStep).Approval?.Approver);
    }

    [Fact]
    public async Task GetRun_UnknownId_Answers404Problem()
    {
        using var response = await host.Api.SendAsync(HttpMethod.Get, new Uri("/api/runs/run-does-not-exist", UriKind.Relative), null, Caller.Operator, Token);

        await Problems.AssertAsync(response, HttpStatusCode.NotFound, field: null, Token);
    }

    [Fact]
    public async Task PostRun_RepeatedIdempotencyKey_ReturnsTheFirstRun()
    {
        var body = Workload.DiagnosticsBody(host.Fleet.Target("idempotent"), probes: 1, idempotencyKey: "key-" + Guid.NewGuid().ToString("N"));

        var first = await host.Api.SubmitAsync(body, Caller.Requester, Token);
        var again = await host.Api.SubmitAsync(body, Caller.Requester, Token);
        var otherCaller = await host.Api.SubmitAsync(body, new Caller("someone-else", "requester"), Token);

        Assert.True(first.Created);
        Assert.False(again.Created);
        Assert.Equal(first.Id, again.Id);
        Assert.NotEqual(first.Id, otherCaller.Id);
    }

    public static TheoryData<string, string> BadRequests => new()
    {
        { "malformed-json", "$.target" },
        { "unknown-field", "$.colour" },
        { "missing-agent", "agent" },
        { "unknown-agent", "agent" },
        { "bad-target", "target" },
        { "empty-body", "$" },
        { "oversize-body", "$" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task PostRun_BadInput_Answers400ProblemNamingTheField_AndTheHostKeepsServing(string kind, string field)
    {
        var body = kind switch
        {
            "malformed-json" => """{"agent": "diagnostics", "target": """,
            "unknown-field" => $$"""{"agent": "diagnostics", "target": "{{Target}}", "colour": "blue"}""",
            "missing-agent" => $$"""{"target": "{{Target}}"}""",
            "unknown-agent" => $$"""{"agent": "no-such-agent", "target": "{{Target}}"}""",
            "bad-target" => """{"agent": "diagnostics", "target": "ftp://example.com/services/x"}""",
            "empty-body" => "",
            "oversize-body" => $$"""{"agent": "diagnostics", "target": "{{Target}}", "goal": "{{new string('x', 70 * 1024)}}"}""",
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };

        using var response = await host.Api.PostRunAsync(AgenticClient.Raw(body), Caller.Requester, Token);

        await Problems.AssertAsync(response, HttpStatusCode.BadRequest, field, Token);
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task PostRun_NamingAnotherEnvironment_Answers400NamingBoth()
    {
        var body = $$"""{"agent": "diagnostics", "target": "{{host.Fleet.Target("env-check")}}", "environment": "prod"}""";

        using var response = await host.Api.PostRunAsync(AgenticClient.Raw(body), Caller.Requester, Token);

        var problem = await Problems.AssertAsync(response, HttpStatusCode.BadRequest, "environment", Token);
        var message = problem.GetProperty("errors").EnumerateArray().Single(e => e.GetProperty("field").GetString() == "environment").GetProperty("message").GetString();
        Assert.StartsWith("This deployment's environment is 'dev'; the request names 'prod'.", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PostRun_TargetOnAnotherLoopbackPort_Answers400NamingTheRuleSet()
    {
        var elsewhere = new UriBuilder(host.Fleet.Target("port-check")) { Port = host.Host.Port }.Uri.ToString();

        using var response = await host.Api.PostRunAsync(AgenticClient.Raw($$"""{"agent": "diagnostics", "target": "{{elsewhere}}"}"""), Caller.Requester, Token);

        var problem = await Problems.AssertAsync(response, HttpStatusCode.BadRequest, "target", Token);
        Assert.Contains($"no rule of Agentic:Targets:Allow allows http://127.0.0.1:{host.Host.Port}.", problem.GetRawText(), StringComparison.Ordinal);
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task Approve_ByTheRequester_Answers403AndTheRunKeepsWaiting()
    {
        var (run, _) = await host.StartRunAwaitingApprovalAsync(Token);

        using var response = await host.Api.DecideAsync(AgenticClient.ApprovalUri(run, Workload.RestartStep), "approve", Caller.Requester with { Roles = "operator" }, Token);

        await Problems.AssertAsync(response, HttpStatusCode.Forbidden, field: null, Token);
        await AssertStillWaitingAsync(run);
    }

    [Theory]
    [InlineData("viewer")]
    [InlineData(null)]
    public async Task Approve_WithoutTheOperatorRole_Answers403AndTheRunKeepsWaiting(string? roles)
    {
        var (run, _) = await host.StartRunAwaitingApprovalAsync(Token);

        using var response = await host.Api.DecideAsync(AgenticClient.ApprovalUri(run, Workload.RestartStep), "approve", new Caller("operator-2", roles), Token);

        await Problems.AssertAsync(response, HttpStatusCode.Forbidden, field: null, Token);
        await AssertStillWaitingAsync(run);
    }

    [Fact]
    public async Task Approve_StepTheRunIsNotWaitingFor_Answers409()
    {
        var (run, _) = await host.StartRunAwaitingApprovalAsync(Token);

        using var response = await host.Api.DecideAsync(AgenticClient.ApprovalUri(run, "s1"), "approve", Caller.Operator, Token);

        await Problems.AssertAsync(response, HttpStatusCode.Conflict, field: null, Token);
        await AssertStillWaitingAsync(run);
    }

    [Fact]
    public async Task Approve_UnknownRun_Answers404()
    {
        using var response = await host.Api.DecideAsync(new Uri(host.Host.BaseUri, "/api/runs/run-does-not-exist/approvals/s2"), "approve", Caller.Operator, Token);

        await Problems.AssertAsync(response, HttpStatusCode.NotFound, field: null, Token);
    }

    [Fact]
    public async Task Approve_DecisionNeitherApproveNorReject_Answers400NamingDecision()
    {
        var (run, _) = await host.StartRunAwaitingApprovalAsync(Token);

        using var response = await host.Api.DecideAsync(AgenticClient.ApprovalUri(run, Workload.RestartStep), "maybe", Caller.Operator, Token);

        await Problems.AssertAsync(response, HttpStatusCode.BadRequest, "decision", Token);
        await AssertStillWaitingAsync(run);
    }

    [Fact]
    public async Task Terminate_RunAwaitingApproval_EndsItTerminatedWithoutItsSideEffect()
    {
        var (run, _) = await host.StartRunAwaitingApprovalAsync(Token);

        using (var response = await host.Api.SendAsync(HttpMethod.Post, new Uri(run.TerminatePostUri), null, Caller.Requester, Token))
        {
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }
        var ended = await host.PollAsync(run.Id, v => v.Status != "running", Token);

        Assert.Equal("terminated", ended.Status);
        Assert.DoesNotContain(await host.Fleet.EffectsAsync(), e => e.Key.StartsWith(run.Id + "/", StringComparison.Ordinal));
    }

    private async Task AssertStillWaitingAsync(Core.Runs.RunCreatedView run)
    {
        var (status, view) = await host.Api.GetRunAsync(run.Id, Token);
        Assert.Equal(HttpStatusCode.Accepted, status);
        Assert.Equal(Workload.RestartStep, view!.PendingApproval?.StepId);
        Assert.Null(view.Steps.Single(s => s.StepId == Workload.RestartStep).Approval);
    }

    private async Task AssertStillServingAsync()
    {
        Assert.False(host.Host.Process!.HasExited, HostOutput.Tail(host.Host));
        using var agents = await host.Api.SendAsync(HttpMethod.Get, new Uri("/api/agents", UriKind.Relative), null, Caller.Requester, Token);
        Assert.Equal(HttpStatusCode.OK, agents.StatusCode);
    }
}
