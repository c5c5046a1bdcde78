using System.Net;
using System.Text.Json;
using Agentic.Core.Json;
using Agentic.Core.Runs;
using Agentic.EndToEnd.Tests.Support;
using Agentic.Runtime.Http;

namespace Agentic.EndToEnd.Tests;

/// <summary>
/// The routes operators work from, on the real host: the run list (filters, paging, who sees what), the pending
/// approvals a caller may decide, health, the OpenAPI document, and the problem answers of routes that do not exist.
/// </summary>
public sealed class OperatorsApiTests(ContractHost host) : IClassFixture<ContractHost>
{
    private static readonly Caller Anonymous = new(null);
    private static readonly Caller NoRole = new("nobody", "");
    private static readonly Caller Admin = new("admin-1", "admin,operator");
    private static readonly Caller AdminOnly = new("admin-2", "admin");
    private static readonly Caller SecondOperator = new("operator-2", "operator");

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ListRuns_PagesWithTheContinuationToken_EachRunOnce_NoPageOverTop()
    {
        var mine = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            mine.Add((await host.Api.SubmitAsync(Workload.DiagnosticsBody(host.Fleet.Target("page-" + i), probes: 1), new Caller("someone-else", "requester"), Token)).Id);
        }

        var (seen, pages) = await ListAllAsync("/api/runs?principal=someone-else&top=2", Caller.Operator);

        Assert.Equal(mine.Order(StringComparer.Ordinal), seen.Select(r => r.Id).Order(StringComparer.Ordinal));
        Assert.True(pages >= 3, $"5 runs in pages of 2 came in {pages} page(s).");
        Assert.All(seen, r => Assert.Equal("someone-else", r.Principal));
        Assert.All(seen, r => Assert.Equal(Workload.Diagnostics, r.Agent));
    }

    [Fact]
    public async Task ListRuns_FiltersByStatusAgentAndCreationTime()
    {
        var (waiting, _) = await host.StartRunAwaitingApprovalAsync(Token);
        var done = await host.Api.SubmitAsync(Workload.DiagnosticsBody(host.Fleet.Target("filters"), probes: 1), Caller.Requester, Token);
        await host.PollAsync(done.Id, v => v.Status != "running", Token);

        var running = await IdsAsync("/api/runs?status=running&principal=requester");
        var completed = await IdsAsync("/api/runs?status=completed&principal=requester");
        var healers = await IdsAsync($"/api/runs?agent={Workload.Healer}&principal=requester");
        var future = await IdsAsync($"/api/runs?createdFrom={Uri.EscapeDataString(DateTimeOffset.UtcNow.AddHours(1).ToString("O"))}");
        var past = await IdsAsync("/api/runs?createdTo=2001-01-01T00:00:00Z");
        var window = await IdsAsync($"/api/runs?createdFrom={Uri.EscapeDataString(DateTimeOffset.UtcNow.AddHours(-1).ToString("O"))}&createdTo={Uri.EscapeDataString(DateTimeOffset.UtcNow.AddMinutes(5).ToString("O"))}");

        Assert.Contains(waiting.Id, running);
        Assert.DoesNotContain(done.Id, running);
        Assert.Contains(done.Id, completed);
        Assert.DoesNotContain(waiting.Id, completed);
        Assert.Contains(waiting.Id, healers);
        Assert.DoesNotContain(done.Id, healers);
        Assert.Empty(future);
        Assert.Empty(past);
        Assert.Contains(waiting.Id, window);
        Assert.Contains(done.Id, window);
    }

    [Fact]
    public async Task ListRuns_Item_CarriesWhoWhatWhereAndThePendingApproval()
    {
        var (run, _) = await host.StartRunAwaitingApprovalAsync(Token);

        var (items, _) = await ListAllAsync($"/api/runs?status=running&agent={Workload.Healer}", Caller.Operator);
        var item = Assert.Single(items, i => i.Id == run.Id);

        Assert.Equal("requester", item.Principal);
        Assert.Equal("running", item.Status);
        Assert.Equal("AwaitingApproval", item.Phase);
        Assert.StartsWith(host.Fleet.Target("api-"), item.Target, StringComparison.Ordinal);
        Assert.True(item.UpdatedAt >= item.CreatedAt);
        Assert.Equal(Workload.RestartStep, item.PendingApproval?.StepId);
        Assert.Equal("operator", item.PendingApproval?.ApproverRole);
    }

    [Fact]
    public async Task ListRuns_ARequester_SeesOnlyTheirOwnRuns_WhateverPrincipalTheyName()
    {
        var theirs = await host.Api.SubmitAsync(Workload.DiagnosticsBody(host.Fleet.Target("own"), probes: 1), new Caller("requester-2", "requester"), Token);
        var others = await host.Api.SubmitAsync(Workload.DiagnosticsBody(host.Fleet.Target("other"), probes: 1), Caller.Requester, Token);

        var (asked, _) = await ListAllAsync("/api/runs?principal=requester", new Caller("requester-2", "requester"));
        var (all, _) = await ListAllAsync("/api/runs", new Caller("requester-2", "requester"));
        var (admin, _) = await ListAllAsync("/api/runs", AdminOnly);

        Assert.DoesNotContain(asked, r => r.Id == others.Id);
        Assert.All(all, r => Assert.Equal("requester-2", r.Principal));
        Assert.Contains(all, r => r.Id == theirs.Id);
        Assert.Contains(admin, r => r.Id == others.Id);
        Assert.Contains(admin, r => r.Id == theirs.Id);
    }

    public static TheoryData<string, string> BadRunQueries => new()
    {
        { "status=sleeping", "status" },
        { "top=0", "top" },
        { "top=101", "top" },
        { "createdFrom=yesterday", "createdFrom" },
        { "createdFrom=2026-02-01T00:00:00Z&createdTo=2026-01-01T00:00:00Z", "createdTo" },
        { "colour=blue", "colour" },
        { "continuationToken=not-a-token", "continuationToken" },
        { "status=running&status=failed", "status" },
    };

    [Theory]
    [MemberData(nameof(BadRunQueries))]
    public async Task ListRuns_BadQuery_Answers400NamingTheParameter(string query, string field)
    {
        using var response = await host.Api.SendAsync(HttpMethod.Get, new Uri("/api/runs?" + query, UriKind.Relative), null, Caller.Operator, Token);

        await Problems.AssertAsync(response, HttpStatusCode.BadRequest, field, Token);
    }

    [Fact]
    public async Task ListRuns_TokenOfOtherFilters_Answers400()
    {
        for (var i = 0; i < 3; i++)
        {
            await host.Api.SubmitAsync(Workload.DiagnosticsBody(host.Fleet.Target("token-" + i), probes: 1), Caller.Requester, Token);
        }
        var first = await PageAsync<RunPageView>("/api/runs?principal=requester&top=1", Caller.Operator);
        Assert.NotNull(first.ContinuationToken);

        using var response = await host.Api.SendAsync(HttpMethod.Get,
            new Uri("/api/runs?principal=someone-else&top=1&continuationToken=" + Uri.EscapeDataString(first.ContinuationToken), UriKind.Relative), null, Caller.Operator, Token);

        await Problems.AssertAsync(response, HttpStatusCode.BadRequest, "continuationToken", Token);
    }

    [Theory]
    [InlineData("/api/runs")]
    [InlineData("/api/approvals")]
    [InlineData("/api/openapi.json")]
    public async Task NewRoutes_Anonymous_Answer401_AndWithoutARole_403(string path)
    {
        using var anonymous = await host.Api.SendAsync(HttpMethod.Get, new Uri(path, UriKind.Relative), null, Anonymous, Token);
        using var noRole = await host.Api.SendAsync(HttpMethod.Get, new Uri(path, UriKind.Relative), null, NoRole, Token);

        await Problems.AssertAsync(anonymous, HttpStatusCode.Unauthorized, field: null, Token);
        await Problems.AssertAsync(noRole, HttpStatusCode.Forbidden, field: null, Token);
    }

    [Fact]
    public async Task ListApprovals_ShowsTheStepToThoseWhoMayDecideIt_AndToNoOneElse()
    {
        var (run, _) = await host.StartRunAwaitingApprovalAsync(Token);

        var forOperator = await ApprovalsAsync("/api/approvals?status=pending", Caller.Operator);
        var forAdminOperator = await ApprovalsAsync("/api/approvals", Admin);
        var forRequester = await ApprovalsAsync("/api/approvals", Caller.Requester);
        var forRequesterAsOperator = await ApprovalsAsync("/api/approvals", Caller.Requester with { Roles = "operator" });
        var forAdminOnly = await ApprovalsAsync("/api/approvals", AdminOnly);
        var adminRole = await ApprovalsAsync("/api/approvals?role=admin", Caller.Operator);

        var item = Assert.Single(forOperator, a => a.RunId == run.Id);
        Assert.Contains(forAdminOperator, a => a.RunId == run.Id);
        Assert.DoesNotContain(forRequester, a => a.RunId == run.Id);
        Assert.DoesNotContain(forRequesterAsOperator, a => a.RunId == run.Id);
        Assert.DoesNotContain(forAdminOnly, a => a.RunId == run.Id);
        Assert.DoesNotContain(adminRole, a => a.RunId == run.Id);
        Assert.Equal(Workload.RestartStep, item.StepId);
        Assert.Equal("sample.restart", item.Tool);
        Assert.Equal("requester", item.Requester);
        Assert.Equal(Workload.Healer, item.Agent);
        Assert.Equal("approve-high-risk", item.Rule);
        Assert.StartsWith("baseline@", item.Policy, StringComparison.Ordinal);
        Assert.Equal("operator", item.ApproverRole);
        Assert.StartsWith("sha256:", item.ArgsDigest, StringComparison.Ordinal);
        Assert.Contains("reason", item.ArgsSummary, StringComparison.Ordinal);
        Assert.NotNull(item.Deadline);
        Assert.Equal(1, item.Quorum);
        Assert.Empty(item.ApprovedBy);
        Assert.Equal(AgenticClient.ApprovalUri(run, Workload.RestartStep), new Uri(item.ApprovePostUri));

        // The listed URI takes the answer; then the step is no longer pending for anyone.
        using (var approved = await host.Api.DecideAsync(new Uri(item.ApprovePostUri), "approve", Caller.Operator, Token))
        {
            Assert.Equal(HttpStatusCode.Accepted, approved.StatusCode);
        }
        await host.PollAsync(run.Id, v => v.PendingApproval is null, Token);
        Assert.DoesNotContain(await ApprovalsAsync("/api/approvals", SecondOperator), a => a.RunId == run.Id);
    }

    [Fact]
    public async Task ListApprovals_AQuorumOfTwo_NamesWhoApproved_AndHidesTheStepFromThem()
    {
        var run = await host.Api.SubmitAsync(new { agent = "scaler", target = host.Fleet.Target("quorum"), parameters = new { replicas = 20 } }, Caller.Requester, Token);
        await host.PollAsync(run.Id, v => v.PendingApproval is not null, Token);
        var step = Assert.Single(await ApprovalsAsync("/api/approvals", Caller.Operator), a => a.RunId == run.Id);
        Assert.Equal(2, step.Quorum);

        using (var first = await host.Api.DecideAsync(new Uri(step.ApprovePostUri), "approve", Caller.Operator, Token))
        {
            Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        }
        await host.PollAsync(run.Id, v => v.PendingApproval?.ApprovedBy?.Count == 1, Token);

        Assert.DoesNotContain(await ApprovalsAsync("/api/approvals", Caller.Operator), a => a.RunId == run.Id);
        var forSecond = Assert.Single(await ApprovalsAsync("/api/approvals", SecondOperator), a => a.RunId == run.Id);
        Assert.Equal(["operator-1"], forSecond.ApprovedBy);
        Assert.Equal("approve-large-scale", forSecond.Rule);
        Assert.Contains("\"replicas\":20", forSecond.ArgsSummary, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("status=approved", "status")]
    [InlineData("top=1000", "top")]
    [InlineData("agent=scaler", "agent")]
    [InlineData("continuationToken=e30", "continuationToken")]
    public async Task ListApprovals_BadQuery_Answers400NamingTheParameter(string query, string field)
    {
        using var response = await host.Api.SendAsync(HttpMethod.Get, new Uri("/api/approvals?" + query, UriKind.Relative), null, Caller.Operator, Token);

        await Problems.AssertAsync(response, HttpStatusCode.BadRequest, field, Token);
    }

    [Fact]
    public async Task Health_Anonymous_GetsTheStatusOnly_ACallerWithARole_GetsEachCheck()
    {
        using var anonymous = await host.Api.SendAsync(HttpMethod.Get, new Uri("/api/health", UriKind.Relative), null, Anonymous, Token);
        using var badKey = new HttpRequestMessage(HttpMethod.Get, new Uri("/api/health", UriKind.Relative));
        badKey.Headers.Add(Agentic.Testing.TestIdentities.KeyHeader, "not-a-key");
        using var withBadKey = await host.Api.Http.SendAsync(badKey, Token);
        using var noRole = await host.Api.SendAsync(HttpMethod.Get, new Uri("/api/health", UriKind.Relative), null, NoRole, Token);
        using var operatorAnswer = await host.Api.SendAsync(HttpMethod.Get, new Uri("/api/health", UriKind.Relative), null, Caller.Operator, Token);

        foreach (var minimal in new[] { anonymous, withBadKey, noRole })
        {
            Assert.Equal(HttpStatusCode.OK, minimal.StatusCode);
            Assert.Equal("""{"status":"ok"}""", await minimal.Content.ReadAsStringAsync(Token));
        }
        Assert.Equal(HttpStatusCode.OK, operatorAnswer.StatusCode);
        var view = JsonSerializer.Deserialize<HealthView>(await operatorAnswer.Content.ReadAsStringAsync(Token), AgenticJson.Options)!;
        Assert.Equal("ok", view.Status);
        Assert.Equal(["engine", "policy", "secrets", "storage"], view.Checks!.Keys.Order(StringComparer.Ordinal));
        Assert.All(view.Checks.Values, c => Assert.Equal("up", c.Status));
        Assert.StartsWith("Enforcing baseline@", view.Checks["policy"].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenApi_DescribesTheApi_WithItsAuthenticationSchemes()
    {
        using var response = await host.Api.SendAsync(HttpMethod.Get, new Uri("/api/openapi.json", UriKind.Relative), null, Caller.Requester, Token);
        var text = await response.Content.ReadAsStringAsync(Token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var document = JsonDocument.Parse(text).RootElement;
        Assert.StartsWith("3.1", document.GetProperty("openapi").GetString(), StringComparison.Ordinal);
        var schemes = document.GetProperty("components").GetProperty("securitySchemes");
        Assert.Equal("x-functions-key", schemes.GetProperty(OpenApiDocumentApi.KeyHeaderScheme).GetProperty("name").GetString());
        Assert.Equal("query", schemes.GetProperty(OpenApiDocumentApi.KeyQueryScheme).GetProperty("in").GetString());
        Assert.Equal("bearer", schemes.GetProperty(OpenApiDocumentApi.BearerScheme).GetProperty("scheme").GetString());
        var paths = document.GetProperty("paths");
        foreach (var path in new[] { "/api/runs", "/api/runs/{id}", "/api/approvals", "/api/health", "/api/openapi.json", "/api/policies/{id}/{version}/activate" })
        {
            Assert.True(paths.TryGetProperty(path, out _), $"{path} is not described.");
        }
        Assert.True(paths.GetProperty("/api/runs").TryGetProperty("get", out var list));
        Assert.Contains(list.GetProperty("responses").EnumerateObject(), r => r.Name == "400");
        Assert.False(paths.TryGetProperty("/", out _));
    }

    public static TheoryData<string, string, HttpStatusCode, string> Fallbacks => new()
    {
        { "GET", "/api/nothing-here", HttpStatusCode.NotFound, "Route not found" },
        { "DELETE", "/api/runs", HttpStatusCode.MethodNotAllowed, "Method not allowed" },
        { "PUT", "/api/approvals", HttpStatusCode.MethodNotAllowed, "Method not allowed" },
    };

    [Theory]
    [MemberData(nameof(Fallbacks))]
    public async Task UnknownRouteOrMethod_AnswersProblemWithASpecificTitleAndDetail(string method, string path, HttpStatusCode status, string title)
    {
        using var response = await host.Api.SendAsync(new HttpMethod(method), new Uri(path, UriKind.Relative), null, Caller.Operator, Token);

        var problem = await Problems.AssertAsync(response, status, field: null, Token);
        Assert.Equal(title, problem.GetProperty("title").GetString());
        Assert.Contains(path, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Terminate_BodyWithAnUnknownMember_Answers400_AndTheRunKeepsWaiting()
    {
        var (run, _) = await host.StartRunAwaitingApprovalAsync(Token);

        using var unknown = await host.Api.SendAsync(HttpMethod.Post, new Uri(run.TerminatePostUri), AgenticClient.Raw("""{"reason": "x", "force": true}"""), Caller.Requester, Token);
        using var oversize = await host.Api.SendAsync(HttpMethod.Post, new Uri(run.TerminatePostUri), AgenticClient.Raw($$"""{"reason": "{{new string('x', 5000)}}"}"""), Caller.Requester, Token);

        await Problems.AssertAsync(unknown, HttpStatusCode.BadRequest, "$.force", Token);
        await Problems.AssertAsync(oversize, HttpStatusCode.BadRequest, "$", Token);
        var (status, view) = await host.Api.GetRunAsync(run.Id, Token);
        Assert.Equal(HttpStatusCode.Accepted, status);
        Assert.Equal(Workload.RestartStep, view!.PendingApproval?.StepId);

        using var withReason = await host.Api.SendAsync(HttpMethod.Post, new Uri(run.TerminatePostUri), AgenticClient.Raw("""{"reason": "Handled by hand."}"""), Caller.Requester, Token);
        Assert.Equal(HttpStatusCode.Accepted, withReason.StatusCode);
        var ended = await host.PollAsync(run.Id, v => v.Status != "running", Token);
        Assert.Equal("terminated", ended.Status);
        Assert.Contains(ended.Log, e => e.Message.Contains("Handled by hand.", StringComparison.Ordinal));
    }

    private async Task<IReadOnlyList<string>> IdsAsync(string uri) => [.. (await ListAllAsync(uri, Caller.Operator)).Items.Select(r => r.Id)];

    // Every page of a run list, following the continuation token; each page holds at most its top.
    private async Task<(List<RunSummaryView> Items, int Pages)> ListAllAsync(string uri, Caller caller)
    {
        var top = uri.Contains("top=", StringComparison.Ordinal) ? int.Parse(uri[(uri.IndexOf("top=", StringComparison.Ordinal) + 4)..].Split('&')[0], System.Globalization.CultureInfo.InvariantCulture) : ListPaging.DefaultTop;
        var items = new List<RunSummaryView>();
        var pages = 0;
        string? next = uri;
        while (next is not null)
        {
            Assert.True(++pages <= 200, "The run list did not end within 200 pages.");
            var page = await PageAsync<RunPageView>(next, caller);
            Assert.True(page.Runs.Count <= top, $"A page of top={top} held {page.Runs.Count} runs.");
            Assert.Equal(page.ContinuationToken is null, page.NextUri is null);
            items.AddRange(page.Runs);
            next = page.NextUri;
        }
        Assert.Equal(items.Count, items.Select(i => i.Id).Distinct().Count());
        return (items, pages);
    }

    private async Task<IReadOnlyList<ApprovalView>> ApprovalsAsync(string uri, Caller caller)
    {
        var items = new List<ApprovalView>();
        string? next = uri;
        for (var pages = 0; next is not null; pages++)
        {
            Assert.True(pages < 200, "The approval list did not end within 200 pages.");
            var page = await PageAsync<ApprovalPageView>(next, caller);
            items.AddRange(page.Approvals);
            next = page.NextUri;
        }
        return items;
    }

    private async Task<T> PageAsync<T>(string uri, Caller caller)
    {
        using var response = await host.Api.SendAsync(HttpMethod.Get, new Uri(uri, UriKind.RelativeOrAbsolute), null, caller, Token);
        var text = await response.Content.ReadAsStringAsync(Token);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {uri} answered {(int)response.StatusCode}: {text}");
        return JsonSerializer.Deserialize<T>(text, AgenticJson.Options)!;
    }
}
