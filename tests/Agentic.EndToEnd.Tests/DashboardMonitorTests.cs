using System.Net;
using Agentic.Core.Json;
using Agentic.EndToEnd.Tests.Support;
using Microsoft.Playwright;

namespace Agentic.EndToEnd.Tests;

/// <summary>
/// Runs started by a monitor and over HTTP, found in the dashboard in real headless Chromium: the monitor's run from its
/// tick and in the run list, approved in the page by an operator (a second person: the monitor requested it) through to a
/// verified audit and a monitor that then finds nothing to do; a run a requester submitted over the API found by the run
/// list's filters and approved in the page the same way.
/// </summary>
public sealed class DashboardMonitorTests(MonitoredDashboardHost dashboard) : IClassFixture<MonitoredDashboardHost>
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    // Long enough for a run to pass its steps on a busy two-core machine; every wait ends as soon as its condition holds.
    private static readonly LocatorAssertionsToBeVisibleOptions Eventually = new() { Timeout = 90_000 };

    [Fact]
    public async Task MonitorRun_IsFoundFromItsTickAndInTheRunList_ApprovedInThePage_AndShowsItsVerifiedAudit()
    {
        var page = await dashboard.SignInAsync(Caller.Operator);

        // The monitor's card: a tick that started a run (or was held back by it), linking to the run.
        await page.GetByRole(AriaRole.Navigation, new() { Name = "Main" }).GetByRole(AriaRole.Link, new() { Name = "Monitors" }).ClickAsync();
        var card = page.Locator($"li[aria-labelledby='monitor-{MonitoredDashboardHost.Monitor}']");
        var runLink = card.GetByRole(AriaRole.Region, new() { Name = $"Last ticks of {MonitoredDashboardHost.Monitor}" }).GetByRole(AriaRole.Link).First;
        await Assertions.Expect(runLink).ToBeVisibleAsync(Eventually);
        await Assertions.Expect(card).ToContainTextAsync(MonitoredDashboardHost.Principal);
        var runId = (await runLink.TextContentAsync())!.Trim();
        Assert.Matches("^run-[0-9a-f]{32}$", runId);
        var violations = new List<string>(await DashboardHost.AccessibilityViolationsAsync(page, "monitors-ticking"));

        // The same run in the run list, filtered by who requested it: waiting for an operator's approval.
        await page.GotoAsync("/#/runs");
        await page.GetByLabel("Requested by").FillAsync(MonitoredDashboardHost.Principal);
        await page.GetByRole(AriaRole.Button, new() { Name = "Apply filters" }).ClickAsync();
        var row = page.Locator($"tr[data-run='{runId}']");
        await Assertions.Expect(row).ToContainTextAsync("role operator", new() { Timeout = 90_000 });
        await Assertions.Expect(page.Locator("table.runs tbody tr")).ToHaveCountAsync(1);
        await row.GetByRole(AriaRole.Link, new() { Name = runId }).ClickAsync();

        // The run's page names the monitor that started it and who it ran as.
        await Assertions.Expect(page.Locator(".status-slot").GetByText("Waiting for approval")).ToBeVisibleAsync(Eventually);
        var summary = page.GetByRole(AriaRole.Region, new() { Name = "Summary" });
        await Assertions.Expect(summary.Locator("div:has(> dt:text-is('Requested by')) > dd")).ToHaveTextAsync(MonitoredDashboardHost.Principal);
        await Assertions.Expect(summary.Locator("div:has(> dt:text-is('Started by monitor')) > dd")).ToContainTextAsync(MonitoredDashboardHost.Monitor);
        violations.AddRange(await DashboardHost.AccessibilityViolationsAsync(page, "monitor-run-waiting"));
        Assert.True(violations.Count == 0, "Serious or critical accessibility violations:\n" + string.Join('\n', violations));

        var panel = page.Locator("section.approval");
        await panel.GetByLabel("Comment").FillAsync("Monitor's restart approved.");
        await panel.GetByRole(AriaRole.Button, new() { Name = "Approve" }).ClickAsync();
        await Assertions.Expect(page.Locator(".status-slot").GetByText("Completed")).ToBeVisibleAsync(Eventually);
        await Assertions.Expect(page.Locator(".audit-slot").GetByText("Audit verified")).ToBeVisibleAsync(Eventually);
        await Assertions.Expect(page.Locator($"#step-{Workload.RestartStep}")).ToContainTextAsync("operator-1");
        await DashboardHost.ScreenshotAsync(page, "monitor-run");

        // What the page showed is what the API recorded: the monitor's run, approved by the operator, one restart.
        var (status, run) = await dashboard.Api.GetRunAsync(runId, Token);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(("completed", MonitoredDashboardHost.Principal), (run!.Status, run.Principal));
        Assert.Equal(MonitoredDashboardHost.Monitor, run.Monitor?.Monitor);
        var approval = run.Steps.Single(s => s.StepId == Workload.RestartStep).Approval!;
        Assert.Equal(("operator-1", "approve"), (approval.Approver, approval.Decision));
        Assert.Equal(1, Assert.Single(await dashboard.Fleet.EffectsAsync(), e => e.Service == MonitoredDashboardHost.Service && e.Operation == "restart").Applied);

        // Healed, the service gives the monitor nothing to do, and its card says so.
        await page.GotoAsync("/#/monitors");
        await Assertions.Expect(card.Locator("div:has(> dt:text-is('Last tick')) > dd")).ToContainTextAsync("nothing to do", new() { Timeout = 90_000 });
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task RunSubmittedOverHttp_IsFoundByTheRunListFilters_ApprovedInThePage_AndShowsItsVerifiedAudit()
    {
        var service = "http-" + Guid.NewGuid().ToString("N")[..8];
        await dashboard.Fleet.DegradeAsync(service);
        var created = await dashboard.Api.SubmitAsync(
            new { agent = Workload.Healer, target = dashboard.Fleet.Target(service), goal = "Heal over HTTP", idempotencyKey = service }, Caller.Requester, Token);

        var page = await dashboard.SignInAsync(Caller.Operator);
        await page.GotoAsync("/#/runs");
        await page.Locator("#filter-agent").SelectOptionAsync(Workload.Healer);
        await page.GetByLabel("Requested by").FillAsync(Caller.Requester.Principal!);
        await page.GetByRole(AriaRole.Button, new() { Name = "Apply filters" }).ClickAsync();
        var row = page.Locator($"tr[data-run='{created.Id}']");
        await Assertions.Expect(row).ToContainTextAsync("role operator", new() { Timeout = 90_000 });
        // The monitor's runs, requested by another principal, are left out by the filters.
        await Assertions.Expect(page.Locator("table.runs")).Not.ToContainTextAsync(MonitoredDashboardHost.Principal);

        await row.GetByRole(AriaRole.Link, new() { Name = created.Id }).ClickAsync();
        Assert.EndsWith("#/runs/" + created.Id, page.Url, StringComparison.Ordinal);
        var summary = page.GetByRole(AriaRole.Region, new() { Name = "Summary" });
        await Assertions.Expect(summary.Locator("div:has(> dt:text-is('Requested by')) > dd")).ToHaveTextAsync(Caller.Requester.Principal!);
        await Assertions.Expect(summary.Locator("div:has(> dt:text-is('Started by monitor'))")).ToHaveCountAsync(0);
        var panel = page.Locator("section.approval");
        await panel.GetByLabel("Comment").FillAsync("Approved for the requester.");
        await panel.GetByRole(AriaRole.Button, new() { Name = "Approve" }).ClickAsync();
        await Assertions.Expect(page.Locator(".status-slot").GetByText("Completed")).ToBeVisibleAsync(Eventually);
        await Assertions.Expect(page.Locator(".audit-slot").GetByText("Audit verified")).ToBeVisibleAsync(Eventually);

        var (_, run) = await dashboard.Api.GetRunAsync(created.Id, Token);
        Assert.Equal(("completed", "requester"), (run!.Status, run.Principal));
        Assert.Null(run.Monitor);
        Assert.Equal("operator-1", run.Steps.Single(s => s.StepId == Workload.RestartStep).Approval!.Approver);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task AgentsPage_SaysWhereEachAgentComesFrom_ShippedOrUploadedAndActivatedByWhom()
    {
        var admin = new Caller("admin-1", "admin,operator");
        var name = "janitor-" + Guid.NewGuid().ToString("N")[..6];
        var yaml = $"""
            name: {name}
            version: "1"
            description: Gathers diagnostics once.
            autonomy: autonomous
            tools: [sample.diagnostics]
            playbook:
              rules:
                - rationale: Collect diagnostics.
                  steps:
                    - tool: sample.diagnostics
                      rationale: One sample.
            """;
        using (var stored = await dashboard.Api.SendAsync(HttpMethod.Post, new Uri("/api/agents", UriKind.Relative),
            new StringContent(yaml, System.Text.Encoding.UTF8, "application/yaml"), admin, Token))
        {
            Assert.Equal(HttpStatusCode.Created, stored.StatusCode);
        }
        using (var activated = await dashboard.Api.SendAsync(HttpMethod.Post, new Uri($"/api/agents/{name}/1/activate", UriKind.Relative),
            AgenticClient.Json(new { reason = "Diagnostics on demand." }), admin, Token))
        {
            Assert.Equal(HttpStatusCode.OK, activated.StatusCode);
        }

        var page = await dashboard.SignInAsync(Caller.Operator);
        await page.GotoAsync("/#/agents");
        var uploaded = page.Locator($"li[aria-labelledby='agent-{name}'] div:has(> dt:text-is('Source')) > dd");
        await Assertions.Expect(uploaded).ToContainTextAsync("uploaded by admin-1, activated by admin-1", new() { Timeout = 30_000 });
        await Assertions.Expect(uploaded).ToContainTextAsync("Diagnostics on demand.");
        await Assertions.Expect(page.Locator($"li[aria-labelledby='agent-{Workload.Healer}'] div:has(> dt:text-is('Source')) > dd")).ToHaveTextAsync("shipped with the deployment");
        await page.Context.CloseAsync();
    }
}
