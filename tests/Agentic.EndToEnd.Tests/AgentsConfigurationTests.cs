using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Agentic.Core.Json;
using Agentic.EndToEnd.Tests.Support;
using Agentic.Testing;

namespace Agentic.EndToEnd.Tests;

/// <summary>
/// Agents as configuration on the real host: <c>Agentic__Agents__Path</c> replaces the shipped agents with a directory of
/// YAML agents, whose runs record the definition that planned; a directory with an agent that does not load stops
/// <c>agentic up</c> at start, naming file, line and column; so does a monitor beside the agents that names an agent they do not hold.
/// </summary>
public sealed class AgentsConfigurationTests(AzuriteFixture storage, ITestOutputHelper output) : IAsyncLifetime
{
    private const string Agent = """
        name: fleet-probe
        version: "5"
        description: Takes one diagnostics sample of a fleet service.
        autonomy: autonomous
        signals: [{ kind: http-probe, path: health, timeout: 5s }]
        tools: [sample.diagnostics]
        playbook:
          rules:
            - rationale: One sample of ${observation.status} ${run.target}.
              steps:
                - tool: sample.diagnostics
                  args: { probe: 1 }
                  rationale: One sample.
        """;

    private readonly DirectoryInfo _agents = Directory.CreateTempSubdirectory("agentic-e2e-agents-");

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync()
    {
        _agents.Delete(recursive: true);
        return ValueTask.CompletedTask;
    }

    [Fact]
    public async Task ConfiguredAgentsDirectory_ReplacesTheShippedAgents_AndTheAuditNamesTheDefinitionThatPlanned()
    {
        var file = Path.Combine(_agents.FullName, "fleet-probe.yaml");
        await File.WriteAllTextAsync(file, Agent, Token);
        await using var fleet = await SampleFleet.StartAsync();
        await using var host = new AgenticHost(storage.Azurite.ConnectionString, Hubs.New("agt"), new Dictionary<string, string?> { ["Agentic__Agents__Path"] = _agents.FullName }, fleet);
        await host.StartAsync();
        using var api = new AgenticClient(host.BaseUri);

        using var agents = await api.SendAsync(HttpMethod.Get, new Uri("/api/agents", UriKind.Relative), null, Caller.Requester, Token);
        var catalog = JsonDocument.Parse(await agents.Content.ReadAsStringAsync(Token)).RootElement;
        var listed = Assert.Single(catalog.EnumerateArray());
        Assert.Equal(("fleet-probe", "5", AgenticJson.Digest(Agent)), (listed.GetProperty("name").GetString(), listed.GetProperty("version").GetString(), listed.GetProperty("hash").GetString()));

        var run = await api.SubmitAsync(new { agent = "fleet-probe", target = fleet.Target("probe-1") }, Caller.Requester, Token);
        var clock = Stopwatch.StartNew();
        var (status, view) = await api.GetRunAsync(run.Id, Token);
        while (status != HttpStatusCode.OK && clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(100, Token);
            (status, view) = await api.GetRunAsync(run.Id, Token);
        }
        Assert.True(view?.Status == "completed", $"{view?.Status}\n{HostOutput.Tail(host)}");

        using var audit = await api.SendAsync(HttpMethod.Get, new Uri($"/api/runs/{run.Id}/audit", UriKind.Relative), null, Caller.Requester, Token);
        var records = JsonDocument.Parse(await audit.Content.ReadAsStringAsync(Token)).RootElement.GetProperty("records");
        var plan = records.EnumerateArray().Single(r => r.GetProperty("kind").GetString() == "plan").GetProperty("data");
        Assert.Equal("playbook:fleet-probe@5", plan.GetProperty("planner").GetString());
        Assert.Equal(("fleet-probe", "5", AgenticJson.Digest(Agent)), (plan.GetProperty("agent").GetString(), plan.GetProperty("agentVersion").GetString(), plan.GetProperty("agentHash").GetString()));
        var step = Assert.Single(view!.Steps);
        Assert.Equal(("s1", "sample.diagnostics", "One sample."), (step.StepId, step.Tool, step.Rationale));
    }

    [Fact]
    public async Task CheckCommand_ReportsEveryDiagnostic_AndListsTheAgentsThatLoad()
    {
        var settings = Path.Combine(_agents.FullName, "check.settings.json");
        await File.WriteAllTextAsync(settings, JsonSerializer.Serialize(new { Values = new Dictionary<string, string> { ["AgenticStorage"] = storage.Azurite.ConnectionString } }), Token);
        var file = Path.Combine(_agents.FullName, "fleet-probe.yaml");
        await File.WriteAllTextAsync(file, Agent.Replace("tools: [sample.diagnostics]", "tools: [sample.diagnostics, sample.sweep]", StringComparison.Ordinal), Token);

        var (exit, text) = await RunCliAsync("agents", "check", _agents.FullName, "--settings", settings);

        Assert.True(exit == 1, $"exit {exit}:\n{text}");
        Assert.Contains($"{file}(6,29): unknown-tool: agent 'fleet-probe' lists tool 'sample.sweep', which the deployment does not have", text, StringComparison.Ordinal);

        await File.WriteAllTextAsync(file, Agent, Token);
        (exit, text) = await RunCliAsync("agents", "check", _agents.FullName, "--settings", settings);

        Assert.True(exit == 0, $"exit {exit}:\n{text}");
        Assert.Contains($"fleet-probe@5 {AgenticJson.Digest(Agent)} ({file}): playbook, autonomous, tools sample.diagnostics", text, StringComparison.Ordinal);
        Assert.Contains("1 agent(s) load.", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AgentThatDoesNotLoad_StopsTheHostAtStart_NamingFileLineAndColumn()
    {
        var file = Path.Combine(_agents.FullName, "fleet-probe.yaml");
        await File.WriteAllTextAsync(file, Agent.Replace("autonomy: autonomous", "autonomy: reckless", StringComparison.Ordinal), Token);
        var environment = TestIdentities.HostSettings();
        environment["AgenticStorage"] = storage.Azurite.ConnectionString;
        environment["Agentic__HubName"] = Hubs.New("agt");
        environment["Agentic__Environment"] = "dev";
        environment["Agentic__Agents__Path"] = _agents.FullName;
        var settings = Path.Combine(_agents.FullName, "empty.settings.json");
        await File.WriteAllTextAsync(settings, "{\"Values\":{}}", Token);

        var (exit, text) = await RunCliAsync(environment, "up", "--urls", $"http://127.0.0.1:{Ports.Free()}", "--settings", settings, "--keys", "none");

        Assert.Equal(1, exit);
        Assert.Contains("agentic: the agents do not load:", text, StringComparison.Ordinal);
        Assert.Contains($"{file}(4,11): invalid-autonomy: invalid autonomy 'reckless' in agent 'fleet-probe' (expected observe, suggest, supervised, autonomous)", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MonitorNamingAnUnknownAgent_FailsTheCheck_AndStopsTheHostAtStart()
    {
        await File.WriteAllTextAsync(Path.Combine(_agents.FullName, "fleet-probe.yaml"), Agent, Token);
        Directory.CreateDirectory(Path.Combine(_agents.FullName, "monitors"));
        var monitor = Path.Combine(_agents.FullName, "monitors", "probe.yaml");
        await File.WriteAllTextAsync(monitor, """
            name: probe
            description: Probes a fleet service.
            schedule: "0 * * * * *"
            target: http://127.0.0.1:7072/services/a
            when: "!observation.healthy"
            agent: fleet-prob
            """, Token);
        var settings = Path.Combine(_agents.FullName, "check.settings.json");
        await File.WriteAllTextAsync(settings, JsonSerializer.Serialize(new { Values = new Dictionary<string, string> { ["AgenticStorage"] = storage.Azurite.ConnectionString } }), Token);
        var diagnostic = $"{monitor}(6,8): unknown-agent: monitor 'probe' runs agent 'fleet-prob', which the deployment does not have (did you mean 'fleet-probe'?)";

        var (exit, text) = await RunCliAsync("agents", "check", _agents.FullName, "--settings", settings);

        Assert.True(exit == 1, $"exit {exit}:\n{text}");
        Assert.Contains("agentic: the monitors do not load (1 problem):", text, StringComparison.Ordinal);
        Assert.Contains(diagnostic, text, StringComparison.Ordinal);

        var environment = TestIdentities.HostSettings();
        environment["AgenticStorage"] = storage.Azurite.ConnectionString;
        environment["Agentic__HubName"] = Hubs.New("agt");
        environment["Agentic__Environment"] = "dev";
        environment["Agentic__Agents__Path"] = _agents.FullName;
        var empty = Path.Combine(_agents.FullName, "empty.settings.json");
        await File.WriteAllTextAsync(empty, "{\"Values\":{}}", Token);

        (exit, text) = await RunCliAsync(environment, "up", "--urls", $"http://127.0.0.1:{Ports.Free()}", "--settings", empty, "--keys", "none");

        Assert.Equal(1, exit);
        Assert.Contains("agentic: the monitors do not load:", text, StringComparison.Ordinal);
        Assert.Contains(diagnostic, text, StringComparison.Ordinal);
    }

    private Task<(int Exit, string Output)> RunCliAsync(params string[] args) => RunCliAsync(null, args);

    // Runs the agentic executable to its exit (at most 60 s) and answers its exit code and output.
    private async Task<(int Exit, string Output)> RunCliAsync(IReadOnlyDictionary<string, string?>? environment, params string[] args)
    {
        await using var cli = ChildProcess.Start("agentic-cli", "dotnet", [Repo.Output("Agentic.LocalHost", "agentic.dll"), .. args], environment);
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
}
