using System.Net;
using System.Text.Json;
using Agentic.Core.Json;
using Agentic.Core.Runs;
using Agentic.EndToEnd.Tests.Support;
using Agentic.Runtime.Http;
using Azure.Storage.Queues;
using Microsoft.Playwright;

namespace Agentic.EndToEnd.Tests;

/// <summary>
/// The dashboard in real headless Chromium on the real host: a queued run approved in the page by a second person, a run
/// started from the page, kill switches for admins only, accessibility of every page, and how the assets are served.
/// </summary>
public sealed class DashboardTests(DashboardHost dashboard) : IClassFixture<DashboardHost>
{
    private static readonly Caller Operator = Caller.Operator;
    private static readonly Caller Admin = new("admin-1", "admin,operator");

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    // Long enough for a run to pass its steps on a busy two-core machine; every wait ends as soon as its condition holds.
    private static readonly LocatorAssertionsToBeVisibleOptions Eventually = new() { Timeout = 90_000 };

    [Fact]
    public async Task QueuedRun_WaitingForApproval_IsApprovedInThePageByASecondPerson_AndShowsItsVerifiedAudit()
    {
        var service = "dash-" + Guid.NewGuid().ToString("N")[..8];
        await dashboard.Fleet.DegradeAsync(service);
        var queue = new QueueClient(dashboard.StorageConnectionString, Agentic.Runtime.RunRequestListener.QueueName);
        await queue.CreateIfNotExistsAsync(cancellationToken: Token);
        await queue.SendMessageAsync(JsonSerializer.Serialize(new { agent = Workload.Healer, target = dashboard.Fleet.Target(service), goal = "Heal from the queue", idempotencyKey = service }), Token);

        // The queue's requester knows its idempotency key, and so the run's id: the run is opened by it in the page.
        var runId = RunIds.For(new RunRequest { Agent = Workload.Healer, Target = dashboard.Fleet.Target(service), Principal = Agentic.Runtime.RunRequestListener.Principal, IdempotencyKey = service });
        var page = await dashboard.SignInAsync(Operator);
        await page.GetByLabel("Run id").FillAsync(runId);
        await page.GetByRole(AriaRole.Button, new() { Name = "Open run" }).ClickAsync();
        await Assertions.Expect(page.Locator(".status-slot").GetByText("Waiting for approval")).ToBeVisibleAsync(Eventually);

        // A second person decides with the exact arguments and their digest, the rule and who else approved in front of them.
        var (_, waiting) = await dashboard.Api.GetRunAsync(runId, Token);
        var pending = waiting!.PendingApproval!;
        var panel = page.Locator("section.approval");
        await Assertions.Expect(panel).ToContainTextAsync(pending.ArgsDigest);
        await Assertions.Expect(panel.Locator("pre.json")).ToContainTextAsync("health probe reported");
        await Assertions.Expect(panel).ToContainTextAsync("approve-high-risk");
        await Assertions.Expect(panel).ToContainTextAsync("nobody yet");
        await Assertions.Expect(page.Locator("ol.timeline")).ToContainTextAsync("needs approval by role 'operator'");
        await DashboardHost.ScreenshotAsync(page, "run-waiting");

        await panel.GetByLabel("Comment").FillAsync("Restart approved from the dashboard.");
        await panel.GetByRole(AriaRole.Button, new() { Name = "Approve" }).ClickAsync();

        // The run's page: completed, each decision with its rule and policy version, the approval with who, and the verified audit.
        await Assertions.Expect(page.Locator(".status-slot").GetByText("Completed")).ToBeVisibleAsync(Eventually);
        await Assertions.Expect(page.Locator(".audit-slot").GetByText("Audit verified")).ToBeVisibleAsync(Eventually);
        var restart = page.Locator("#step-s2");
        await Assertions.Expect(restart).ToContainTextAsync("approve-high-risk");
        await Assertions.Expect(restart).ToContainTextAsync("operator-1");
        await Assertions.Expect(restart).ToContainTextAsync("Restart approved from the dashboard.");
        await Assertions.Expect(page.Locator("ol.timeline")).ToContainTextAsync("Completed");
        await DashboardHost.ScreenshotAsync(page, "run");

        // The page said what the API recorded: the second person's approval with the comment, and the restart done once.
        var (status, done) = await dashboard.Api.GetRunAsync(runId, Token);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("completed", done!.Status);
        Assert.Equal("queue:agent-runs", done.Principal);
        var approval = done.Steps.Single(s => s.StepId == Workload.RestartStep).Approval!;
        Assert.Equal(("operator-1", "approve", "Restart approved from the dashboard."), (approval.Approver, approval.Decision, approval.Comment));
        Assert.Equal(1, Assert.Single(await dashboard.Fleet.EffectsAsync(), e => e.Service == service && e.Operation == "restart").Applied);

        // A record's lineage walks from the restart's outcome back to the signal.
        await page.GetByRole(AriaRole.Link, new() { Name = "Lineage of s2/act/outcome" }).ClickAsync();
        var lineage = page.Locator("section.lineage");
        await Assertions.Expect(lineage).ToContainTextAsync("Derives from");
        await Assertions.Expect(lineage).ToContainTextAsync("s2/gate");
        await Assertions.Expect(lineage).ToContainTextAsync("perceive");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Requester_StartsARunInThePage_SeesItsVerifiedAudit_AndIsOfferedNoAdminControls()
    {
        var page = await dashboard.SignInAsync(Caller.Requester);

        var nav = page.GetByRole(AriaRole.Navigation, new() { Name = "Main" });
        await Assertions.Expect(nav.GetByRole(AriaRole.Link, new() { Name = "Runs" })).ToBeVisibleAsync();
        await Assertions.Expect(nav.GetByRole(AriaRole.Link, new() { Name = "Kill switches" })).ToHaveCountAsync(0);
        await Assertions.Expect(nav.GetByRole(AriaRole.Link, new() { Name = "Monitors" })).ToHaveCountAsync(0);
        await page.GotoAsync("/#/controls");
        await Assertions.Expect(page.GetByText("do not include this page")).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Engage kill switch" })).ToHaveCountAsync(0);
        await page.GotoAsync("/#/policies");
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Versions" })).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Simulate" })).ToHaveCountAsync(0);
        // The agents without their drift, which is for operators and admins: no refusal shown in its place.
        await page.GotoAsync("/#/agents");
        await Assertions.Expect(page.Locator($"li[aria-labelledby='agent-{Workload.Healer}']")).ToContainTextAsync("shipped with the deployment");
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Drift" })).ToHaveCountAsync(0);
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToHaveCountAsync(0);

        // Starting a run over HTTP, from the page: the form posts /api/runs with the requester's key and opens the run.
        var service = "dash-" + Guid.NewGuid().ToString("N")[..8];
        await page.GotoAsync("/#/runs");
        await page.GetByLabel("Agent", new() { Exact = true }).Last.SelectOptionAsync(Workload.Diagnostics);
        await page.GetByLabel("Target").FillAsync(dashboard.Fleet.Target(service));
        await page.GetByLabel("Goal").FillAsync("Look at the service");
        await page.GetByRole(AriaRole.Button, new() { Name = "Start run" }).ClickAsync();
        await Assertions.Expect(page.Locator(".status-slot").GetByText("Completed")).ToBeVisibleAsync(Eventually);
        await Assertions.Expect(page.Locator(".audit-slot").GetByText("Audit verified")).ToBeVisibleAsync(Eventually);
        await Assertions.Expect(page.GetByRole(AriaRole.Region, new() { Name = "Summary" }).Locator("div:has(> dt:text-is('Requested by')) > dd")).ToHaveTextAsync("requester");
        Assert.Matches("#/runs/run-[0-9a-f]{32}$", page.Url);

        // A bad target is refused by the API and the page says which field and why.
        await page.GotoAsync("/#/runs");
        await page.GetByLabel("Agent", new() { Exact = true }).Last.SelectOptionAsync(Workload.Diagnostics);
        await page.GetByLabel("Target").FillAsync("http://169.254.169.254/services/metadata");
        await page.GetByRole(AriaRole.Button, new() { Name = "Start run" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("target");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Admin_EngagesAndReleasesAKillSwitchInThePage()
    {
        var page = await dashboard.SignInAsync(Admin);
        await page.GetByRole(AriaRole.Link, new() { Name = "Kill switches" }).ClickAsync();
        await Assertions.Expect(page.GetByText("Nothing engaged")).ToBeVisibleAsync();

        await page.GetByLabel("Scope").SelectOptionAsync("agent");
        await page.GetByLabel("Target").SelectOptionAsync("scaler");
        await page.GetByLabel("Reason", new() { Exact = true }).First.FillAsync("Scaling drill from the dashboard");
        await page.GetByRole(AriaRole.Button, new() { Name = "Engage kill switch" }).ClickAsync();
        var engaged = page.Locator("li.control[data-rule='kill-switch:agent:scaler']");
        await Assertions.Expect(engaged).ToContainTextAsync("Scaling drill from the dashboard");
        await Assertions.Expect(engaged).ToContainTextAsync("admin-1");
        Assert.Contains("kill-switch:agent:scaler", await ControlsAsync());
        await DashboardHost.ScreenshotAsync(page, "controls");

        await engaged.GetByLabel("Reason for release").FillAsync("Drill over");
        await engaged.GetByRole(AriaRole.Button, new() { Name = "Release kill-switch:agent:scaler" }).ClickAsync();
        await Assertions.Expect(page.GetByText("Nothing engaged")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("table").Filter(new() { HasText = "Drill over" })).ToContainTextAsync("admin-1");
        Assert.DoesNotContain("kill-switch:agent:scaler", await ControlsAsync());
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task EveryPage_HasNoSeriousOrCriticalAccessibilityViolation()
    {
        // A finished run to show, and its lineage.
        var created = await dashboard.Api.SubmitAsync(Workload.DiagnosticsBody(dashboard.Fleet.Target("a11y"), probes: 1), Caller.Requester, Token);
        var signIn = await dashboard.OpenAsync();
        await Assertions.Expect(signIn.GetByRole(AriaRole.Heading, new() { Name = "Sign in" })).ToBeVisibleAsync();
        var violations = new List<string>();
        await CheckAsync(signIn, "sign-in", violations);
        await signIn.Context.CloseAsync();

        var page = await dashboard.SignInAsync(Admin);
        (string Name, string Hash, Func<IPage, Task> Ready)[] pages =
        [
            ("runs-list", "#/runs", p => Assertions.Expect(p.Locator(".list-area > *").First).ToBeVisibleAsync()),
            ("run", $"#/runs/{created.Id}", p => Assertions.Expect(p.Locator(".audit-slot").GetByText("Audit verified")).ToBeVisibleAsync(Eventually)),
            ("lineage", $"#/runs/{created.Id}/lineage/{Uri.EscapeDataString("s1/act/outcome")}", p => Assertions.Expect(p.Locator("section.lineage h2")).ToBeVisibleAsync()),
            ("approvals-inbox", "#/approvals", p => Assertions.Expect(p.Locator("main .notice, main ul.approvals").First).ToBeVisibleAsync()),
            ("monitors", "#/monitors", p => Assertions.Expect(p.Locator("main .notice, main ul.cards").First).ToBeVisibleAsync()),
            ("agents", "#/agents", p => Assertions.Expect(p.Locator("main ul.cards")).ToBeVisibleAsync()),
            ("policies", "#/policies", p => Assertions.Expect(p.GetByRole(AriaRole.Heading, new() { Name = "Versions" })).ToBeVisibleAsync()),
            ("policy", $"#/policies/baseline/{Agentic.Core.Policy.ShippedPolicies.Baseline.Version}", p => Assertions.Expect(p.GetByRole(AriaRole.Heading, new() { Name = "Rules" })).ToBeVisibleAsync()),
            ("kill-switches", "#/controls", p => Assertions.Expect(p.GetByRole(AriaRole.Heading, new() { Name = "Engaged now" })).ToBeVisibleAsync()),
        ];
        foreach (var (name, hash, ready) in pages)
        {
            await page.GotoAsync("/" + hash);
            await ready(page);
            await CheckAsync(page, name, violations);
        }

        Assert.True(violations.Count == 0, "Serious or critical accessibility violations:\n" + string.Join('\n', violations));
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Assets_AreServedWithAStrictContentSecurityPolicy_AndRevalidated()
    {
        using var page = await dashboard.Api.Http.GetAsync(new Uri("/", UriKind.Relative), Token);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);
        Assert.Equal(DashboardApi.ContentSecurityPolicy, string.Join(", ", page.Headers.GetValues("Content-Security-Policy")));
        Assert.DoesNotContain("unsafe", DashboardApi.ContentSecurityPolicy, StringComparison.Ordinal);
        Assert.Equal("nosniff", string.Join(", ", page.Headers.GetValues("X-Content-Type-Options")));
        Assert.True(page.Headers.CacheControl!.NoCache);
        var etag = page.Headers.ETag!;
        var html = await page.Content.ReadAsStringAsync(Token);
        // No inline script and nothing from another origin.
        Assert.DoesNotMatch("<script(?![^>]*\\bsrc=)", html);
        Assert.DoesNotContain("http", html.Replace("http-equiv", "", StringComparison.Ordinal), StringComparison.OrdinalIgnoreCase);

        using (var again = new HttpRequestMessage(HttpMethod.Get, new Uri("/", UriKind.Relative)))
        {
            again.Headers.IfNoneMatch.Add(etag);
            using var notModified = await dashboard.Api.Http.SendAsync(again, Token);
            Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        }
        using (var script = await dashboard.Api.Http.GetAsync(new Uri("/assets/app.js", UriKind.Relative), Token))
        {
            Assert.Equal(HttpStatusCode.OK, script.StatusCode);
            Assert.Equal("text/javascript", script.Content.Headers.ContentType!.MediaType);
            Assert.Equal(DashboardApi.ContentSecurityPolicy, string.Join(", ", script.Headers.GetValues("Content-Security-Policy")));
        }
        using (var missing = await dashboard.Api.Http.GetAsync(new Uri("/assets/nothing-here.js", UriKind.Relative), Token))
        {
            await Problems.AssertAsync(missing, HttpStatusCode.NotFound, field: null, Token);
        }
        // The host's allowed names hold for the page as for the API: a DNS-rebound name is refused.
        using (var rebound = new HttpRequestMessage(HttpMethod.Get, new Uri("/", UriKind.Relative)))
        {
            rebound.Headers.Host = "attacker.example";
            using var refused = await dashboard.Api.Http.SendAsync(rebound, Token);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        }
    }

    [Fact]
    public async Task Me_AnswersTheVerifiedCaller_AndNobodyElse()
    {
        using (var me = await dashboard.Api.SendAsync(HttpMethod.Get, new Uri("/api/me", UriKind.Relative), null, Admin, Token))
        {
            var text = await me.Content.ReadAsStringAsync(Token);
            Assert.True(me.StatusCode == HttpStatusCode.OK, text);
            var view = JsonSerializer.Deserialize<MeView>(text, AgenticJson.Options)!;
            Assert.Equal("admin-1", view.Principal);
            Assert.Equal(["admin", "operator"], view.Roles.Order(StringComparer.Ordinal));
            Assert.Equal("dev", view.Environment);
        }
        // What a client says of itself is not who it is.
        using var forged = await dashboard.Api.SendAsync(HttpMethod.Get, new Uri("/api/me", UriKind.Relative), null, new Caller(null, "admin"), Token);
        await Problems.AssertAsync(forged, HttpStatusCode.Unauthorized, field: null, Token);
    }

    // Runs axe on what the page shows now and keeps every serious or critical violation, with a screenshot either way.
    private static async Task CheckAsync(IPage page, string name, List<string> violations) =>
        violations.AddRange(await DashboardHost.AccessibilityViolationsAsync(page, name));

    private async Task<string> ControlsAsync()
    {
        using var response = await dashboard.Api.SendAsync(HttpMethod.Get, new Uri("/api/controls", UriKind.Relative), null, Admin, Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync(Token);
    }
}
