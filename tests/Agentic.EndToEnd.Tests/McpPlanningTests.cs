using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Agentic.EndToEnd.Tests.Support;
using Agentic.Testing;

namespace Agentic.EndToEnd.Tests;

/// <summary>
/// A language model agent planning an MCP tool through the orchestrator on the real process: the stdio test server is
/// the host's MCP server, the scripted server its model. Until an admin pins the tool's announcement the model is not
/// offered it; pinned, the model's step runs through the gate and the executor like any other tool's.
/// </summary>
public sealed class McpPlanningTests(AzuriteFixture storage) : IAsyncLifetime
{
    // The task agent as a deployment might extend it: the same prompt, one read-only MCP tool beside a sample tool.
    private const string Agent = """
        name: task
        version: "2"
        description: Carries out the requester's goal with the tools it is offered; changes wait for an operator.
        autonomy: supervised
        planner: llm
        llm:
          model: default
          prompt: task-planner
        tools: [sample.diagnostics, mcp.local.environment]
        guards: { maxSteps: 3, maxPlans: 1 }
        """;

    private static readonly Caller Admin = new("admin-2", "admin");

    private readonly DirectoryInfo _agents = Directory.CreateTempSubdirectory("agentic-e2e-mcp-agents-");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync()
    {
        _agents.Delete(recursive: true);
        return ValueTask.CompletedTask;
    }

    [Fact]
    public async Task Task_PlansAPinnedMcpTool_ThroughTheOrchestrator_AfterAnAdminPinnedIt_AndIsNotOfferedItBefore()
    {
        await File.WriteAllTextAsync(Path.Combine(_agents.FullName, "task.yaml"), Agent, Ct);
        await using var model = new ScriptedModelServer();
        await using var fleet = await SampleFleet.StartAsync();
        var settings = ModelHost.ModelSettings(model);
        settings["Agentic__Agents__Path"] = _agents.FullName;
        settings["Agentic__Mcp__Servers__local__Command"] = "dotnet";
        settings["Agentic__Mcp__Servers__local__Arguments__0"] = Repo.Output("Agentic.McpStdioServer", "Agentic.McpStdioServer.dll");
        settings["Agentic__Mcp__Servers__local__Environment__LOG_LEVEL"] = "warn";
        settings["Agentic__Mcp__Servers__local__Tools__environment__Risk"] = "Low";
        settings["Agentic__Mcp__Servers__local__Tools__environment__SideEffect"] = "ReadOnly";
        settings["Agentic__Mcp__Servers__local__Tools__environment__Idempotent"] = "true";
        await using var host = new AgenticHost(storage.Azurite.ConnectionString, Hubs.New("mcp"), settings, fleet);
        await host.StartAsync();
        using var api = new AgenticClient(host.BaseUri);
        var environment = new { id = "read", tool = "mcp.local.environment", arguments = new { read = "LOG_LEVEL" }, rationale = "Read the log level the goal asks for." };

        // Unpinned: the model is not offered the tool, and the plan records the guard's rule.
        var first = fleet.Target("mcp-1");
        model.ThenJson(new { rationale = "Only diagnostics are offered.", steps = new[] { new { id = "look", tool = "sample.diagnostics", arguments = (object)new { }, rationale = "Evidence." } } }, match: first);
        var unpinned = await RunToEndAsync(api, host, new { agent = "task", target = first, goal = "Report the MCP server's log level." });
        Assert.Equal("completed", unpinned.Status);
        var offer = await PlanModelAsync(api, unpinned.Id);
        Assert.Equal(["sample.diagnostics"], offer.GetProperty("offered").EnumerateArray().Select(o => o.GetString()));
        var withheld = Assert.Single(offer.GetProperty("notOffered").EnumerateArray());
        Assert.Equal(("mcp.local.environment", "mcp-unpinned:mcp.local.environment"), (withheld.GetProperty("tool").GetString(), withheld.GetProperty("rule").GetString()));

        // An admin reviews the announcement and pins it.
        using (var tools = await api.SendAsync(HttpMethod.Get, new Uri("/api/mcp/tools", UriKind.Relative), null, Admin, Ct))
        {
            var listed = (await tools.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("tools").EnumerateArray().Single(t => t.GetProperty("tool").GetString() == "mcp.local.environment");
            Assert.Equal("unpinned", listed.GetProperty("status").GetString());
            var hash = listed.GetProperty("announced").GetProperty("hash").GetString();
            using var pin = await api.SendAsync(HttpMethod.Post, new Uri("/api/mcp/pins", UriKind.Relative),
                AgenticClient.Json(new { tool = "mcp.local.environment", hash, reason = "Reviewed: reads one environment variable." }), Admin, Ct);
            Assert.Equal(HttpStatusCode.OK, pin.StatusCode);
        }

        // Pinned: offered, planned, gated (a read-only call) and run once by the real server.
        var second = fleet.Target("mcp-2");
        model.ThenJson(new { rationale = "Read the log level.", steps = new[] { environment } }, match: second);
        var pinned = await RunToEndAsync(api, host, new { agent = "task", target = second, goal = "Report the MCP server's log level." });
        Assert.True(pinned.Status == "completed", $"{pinned.Status}: {pinned.FailureReason}\n{HostOutput.Tail(host)}");
        var step = Assert.Single(pinned.Steps);
        Assert.Equal(("read", "mcp.local.environment", "permit-read-only"), (step.StepId, step.Tool, step.Decision!.Rule));
        Assert.Equal("warn", step.Result!.Output.GetProperty("value").GetString());
        Assert.Contains("mcp.local.environment", (await PlanModelAsync(api, pinned.Id)).GetProperty("offered").EnumerateArray().Select(o => o.GetString()));
    }

    private static async Task<Agentic.Core.Runs.RunView> RunToEndAsync(AgenticClient api, AgenticHost host, object body)
    {
        var created = await api.SubmitAsync(body, Caller.Requester, Ct);
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (DateTime.UtcNow < until)
        {
            var (status, view) = await api.GetRunAsync(created.Id, Ct);
            if (status == HttpStatusCode.OK)
            {
                return view!;
            }
            await Task.Delay(100, Ct);
        }
        Assert.Fail($"Run {created.Id} did not end within 90 s.\n{HostOutput.Tail(host)}");
        return null!;
    }

    private static async Task<JsonElement> PlanModelAsync(AgenticClient api, string runId)
    {
        using var audit = await api.SendAsync(HttpMethod.Get, new Uri($"/api/runs/{runId}/audit", UriKind.Relative), null, Caller.Operator, Ct);
        var records = (await audit.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("records");
        return records.EnumerateArray().Single(r => r.GetProperty("kind").GetString() == "plan").GetProperty("data").GetProperty("model").Clone();
    }
}
