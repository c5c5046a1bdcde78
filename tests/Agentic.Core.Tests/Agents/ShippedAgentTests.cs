using System.Globalization;
using System.Text.Json;
using Agentic.Core.Activities;
using Agentic.Core.Agents;
using Agentic.Core.Audit;
using Agentic.Core.Json;
using Agentic.Core.Tools;
using Agentic.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Agentic.Core.Tests.Agents;

/// <summary>
/// The shipped agents as YAML: they plan exactly what the compiled playbooks they replaced planned, their plans and
/// plan records name the definition that planned, and the hosts' start-up check refuses agents that do not load.
/// </summary>
public sealed class ShippedAgentTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string, bool, string, string?> Inputs()
    {
        var data = new TheoryData<string, bool, string, string?>();
        string?[] parameters =
        [
            null, "{}", "[1]", "\"x\"", """{"probes":5}""", """{"probes":0}""", """{"probes":-3}""", """{"probes":50}""", """{"probes":51}""",
            """{"probes":2.5}""", """{"probes":2.0}""", """{"probes":1e1}""", """{"probes":"5"}""", """{"probes":null}""", """{"probes":true}""",
            """{"probes":2147483648}""", """{"replicas":7}""", """{"replicas":0}""", """{"replicas":-1}""", """{"replicas":100}""",
            """{"replicas":1000}""", """{"replicas":"7"}""", """{"replicas":7.5}""", """{"replicas":7,"probes":2}""",
        ];
        foreach (var agent in new[] { "service-healer", "diagnostics", "scaler" })
        {
            foreach (var (healthy, status) in new[] { (true, "ok"), (true, "healthy"), (false, "degraded"), (false, "unreachable"), (false, "http-503"), (false, "a \"quoted\" / ünicode status") })
            {
                foreach (var p in parameters)
                {
                    data.Add(agent, healthy, status, p);
                }
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Inputs))]
    public void ShippedYamlAgent_PlansExactlyWhatTheCompiledPlaybookPlanned(string agent, bool healthy, string status, string? parameters)
    {
        var input = Input(agent, healthy, status, parameters);

        var plan = AgentCatalog.Default.Get(agent).Planner(input);

        Assert.Equal(Json(CompiledPlaybooks.Plan(input)), Json(plan));
    }

    [Theory]
    [InlineData("service-healer", "supervised", new[] { "sample.diagnostics", "sample.restart" })]
    [InlineData("diagnostics", "autonomous", new[] { "sample.diagnostics" })]
    [InlineData("scaler", "supervised", new[] { "sample.scale" })]
    public void ShippedAgents_KeepTheirAutonomyAndDescription_AndListTheToolsTheyPropose(string agent, string autonomy, string[] tools)
    {
        var definition = AgentCatalog.Default.Get(agent);

        Assert.Equal(autonomy, definition.Autonomy);
        Assert.Equal(CompiledPlaybooks.Descriptions[agent], definition.Description);
        Assert.Equal(tools, definition.Tools);
        Assert.Null(definition.Guards);
        Assert.Null(definition.Targets);
    }

    [Fact]
    public void ContractIntake_PlansOneContractRecord_WithItsOwnPromptAndModel_SupervisedAndUntrusting()
    {
        var agent = AgentCatalog.Default.Get("contract-intake");

        Assert.Equal(("llm", "supervised", "default", "contract-intake"), (agent.PlannerKind, agent.Autonomy, agent.Llm!.Model, agent.Llm.Prompt));
        Assert.Equal(["contract.record"], agent.Tools);
        // Nothing it reads is trusted: the document, the goal and the register's answer all taint its plan.
        Assert.Empty(agent.Llm.Trust);
        Assert.Equal(((int?)1, (int?)2, (int?)1), (agent.Guards!.MaxSteps, agent.Guards.MaxToolCalls, agent.Guards.MaxPlans));
        Assert.True(Agentic.Core.Planning.PromptTemplates.Load(null).Contains("contract-intake"));
    }

    [Fact]
    public void ContractDocumentSchema_AcceptsADocument_AndRefusesWhatIsNotOne()
    {
        var schema = ToolSchema.Compile(File.ReadAllText(Path.Combine(Repo.Root, "agents", "schemas", "contract-document.schema.json")), "agents/schemas/contract-document.schema.json");

        Assert.Empty(schema.Validate(TestJson.Parse("""{"title":"Support agreement","source":"intake@contoso.example","receivedAt":"2026-02-01T09:30:00Z","mediaType":"text/plain","text":"SUPPORT AGREEMENT ..."}""")));
        Assert.Equal(["$.text: required property is missing"], schema.Validate(TestJson.Parse("""{"title":"No text"}""")));
        Assert.Equal(["$.approved: property is not allowed"], schema.Validate(TestJson.Parse("""{"text":"x","approved":true}""")));
        Assert.Equal(["$.receivedAt: expected a date and time (RFC 3339), got \"yesterday\""], schema.Validate(TestJson.Parse("""{"text":"x","receivedAt":"yesterday"}""")));
    }

    [Fact]
    public async Task PlanActivity_StampsThePlanWithTheDefinitionsVersionAndHash_AndRecordsThemInTheAudit()
    {
        using var audit = new TestAudit();
        var activity = new PlanActivity(AgentCatalog.Default, audit.Log, TimeProvider.System);
        var agent = AgentCatalog.Default.Get("service-healer");

        var plan = AgenticJson.FromElement<Plan>(await activity.RunAsync(AgenticJson.ToElement(Input("service-healer", false, "degraded", null)), new ActivityContext("run-1", "plan", 1), Ct));

        Assert.Equal(("1", agent.Hash), (plan.AgentVersion, plan.AgentHash));
        var record = await audit.Store.ReadAsync("run-1", 0, Ct).Select(r => r.Read()).SingleAsync(Ct);
        Assert.Equal(AuditKinds.Plan, record.Kind);
        Assert.Equal("playbook:service-healer@1", record.Data.GetProperty("planner").GetString());
        Assert.Equal("service-healer", record.Data.GetProperty("agent").GetString());
        Assert.Equal("1", record.Data.GetProperty("agentVersion").GetString());
        Assert.Equal(agent.Hash, record.Data.GetProperty("agentHash").GetString());
    }

    [Fact]
    public async Task PlanActivity_RefusesAPlanNamingAToolTheAgentMayNotPropose()
    {
        var agents = new AgentCatalog(
        [
            new("narrow", "Proposes a tool it does not list.", _ => new Plan("scripted:narrow", [new("s1", "sample.restart", AgenticJson.ToElement(new { }), "Restart.")], false, "Restart."))
            {
                Tools = ["sample.diagnostics"],
            },
        ]);
        var activity = new PlanActivity(agents, TestAudit.InMemoryLog(), TimeProvider.System);

        var error = await Assert.ThrowsAsync<NonRetryableException>(() => activity.RunAsync(AgenticJson.ToElement(Input("narrow", false, "degraded", null)), new ActivityContext("run-1", "plan", 1), Ct));

        Assert.Equal("Agent 'narrow' planned step 's1' with tool 'sample.restart', which is not among the tools it may propose (sample.diagnostics).", error.Message);
    }

    [Fact]
    public async Task StartUpCheck_ConfiguredDirectory_ReplacesTheShippedAgents()
    {
        var directory = Directory.CreateTempSubdirectory("agentic-agents-");
        try
        {
            await File.WriteAllTextAsync(Path.Combine(directory.FullName, "probe.yaml"), """
                name: probe
                version: "7"
                description: Diagnoses once.
                tools: [sample.diagnostics]
                playbook:
                  rules:
                    - rationale: Once.
                      steps: [{ tool: sample.diagnostics, rationale: Once. }]
                """, Ct);
            using var services = Services(directory.FullName);

            await StartAsync(services);

            Assert.Equal(["probe"], services.GetRequiredService<AgentCatalog>().Names);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task StartUpCheck_AgentListingAToolTheDeploymentDoesNotHave_StopsTheHost_NamingFileLineAndColumn()
    {
        var directory = Directory.CreateTempSubdirectory("agentic-agents-");
        try
        {
            var file = Path.Combine(directory.FullName, "janitor.yaml");
            await File.WriteAllTextAsync(file, """
                name: janitor
                version: "1"
                description: Sweeps.
                tools:
                  - sample.sweep
                playbook:
                  rules:
                    - rationale: Sweep.
                      steps: [{ tool: sample.sweep, rationale: Sweep. }]
                """, Ct);
            using var services = Services(directory.FullName);

            var error = await Assert.ThrowsAsync<AgentLoadException>(() => StartAsync(services));

            Assert.Equal($"{file}(5,5): unknown-tool: agent 'janitor' lists tool 'sample.sweep', which the deployment does not have", Assert.Single(error.Diagnostics).ToString());
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task StartUpCheck_AgentThatDoesNotLoad_StopsTheHost_WithEveryDiagnostic()
    {
        var directory = Directory.CreateTempSubdirectory("agentic-agents-");
        try
        {
            var file = Path.Combine(directory.FullName, "bad.yaml");
            await File.WriteAllTextAsync(file, "name: bad\nversion: \"1\"\ndescription: d\nautonomy: reckless\ntools: []\nplaybook: { rules: [{ rationale: x }] }\n", Ct);
            using var services = Services(directory.FullName);

            var error = await Assert.ThrowsAsync<AgentLoadException>(() => StartAsync(services));

            Assert.Equal($"{file}(4,11): invalid-autonomy: invalid autonomy 'reckless' in agent 'bad' (expected observe, suggest, supervised, autonomous)", Assert.Single(error.Diagnostics).ToString());
            Assert.StartsWith("The agents failed to load: ", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public void StartUpCheck_RunsBeforeTheHostedServicesRegisteredBeforeIt()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IHostedService, Idle>();

        services.AddAgenticCore();

        Assert.Equal(typeof(AgentCatalogCheck), services.First(d => d.ServiceType == typeof(IHostedService)).ImplementationType);
    }

    private static ServiceProvider Services(string agentsPath)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Agentic:Agents:Path"] = agentsPath,
            ["Agentic:Environment"] = "dev",
        }).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddAgenticCore();
        return services.BuildServiceProvider();
    }

    private static async Task StartAsync(IServiceProvider services)
    {
        foreach (var hosted in services.GetServices<IHostedService>())
        {
            await hosted.StartAsync(Ct);
        }
    }

    private static string Json(Plan plan) => JsonSerializer.Serialize(AgenticJson.ToElement(plan));

    private static PlanInput Input(string agent, bool healthy, string status, string? parameters)
    {
        var observation = new Observation("http-probe:http://svc.test/health", DateTimeOffset.UnixEpoch, AgenticJson.Digest(status), healthy, status, AgenticJson.ToElement(new { status }));
        return new PlanInput("run-1", agent, Goal: null, "http://svc.test", parameters is null ? null : JsonDocument.Parse(parameters).RootElement.Clone(), observation);
    }

    private sealed class Idle : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>
    /// The compiled playbooks the shipped agents were before they became YAML, kept here as the oracle of their behaviour.
    /// </summary>
    private static class CompiledPlaybooks
    {
        public static readonly Dictionary<string, string> Descriptions = new()
        {
            ["service-healer"] = "Probes a service; when it is unhealthy, gathers diagnostics and restarts it (with an operator's approval), then verifies it recovered.",
            ["diagnostics"] = "Gathers diagnostics from a service N times (parameters.probes, default 3): read-only.",
            ["scaler"] = "Scales a service to parameters.replicas (default 3).",
        };

        public static Plan Plan(PlanInput input) => input.Agent switch
        {
            "service-healer" => ServiceHealer(input),
            "diagnostics" => Diagnostics(input),
            _ => Scaler(input),
        };

        private static Plan ServiceHealer(PlanInput input)
        {
            var planner = "playbook:service-healer@1";
            if (input.Observation.Healthy)
            {
                return new(planner, [], ExpectHealthy: false, $"The target is {input.Observation.Status}; no action needed.");
            }
            return new(planner,
            [
                new("s1", "sample.diagnostics", AgenticJson.ToElement(new { }), "Collect diagnostics before changing anything, so the restart is justified and the evidence is kept."),
                new("s2", "sample.restart", AgenticJson.ToElement(new { reason = $"health probe reported {input.Observation.Status}" }), $"The service reports {input.Observation.Status}; a restart is the runbook's first remedy."),
            ], ExpectHealthy: true, $"The target is {input.Observation.Status}: diagnose, restart, verify.");
        }

        private static Plan Diagnostics(PlanInput input)
        {
            var probes = Int(input.Parameters, "probes", 3, 1, 50);
            var steps = Enumerable.Range(1, probes)
                .Select(i => new PlanStep("s" + i.ToString(CultureInfo.InvariantCulture), "sample.diagnostics", AgenticJson.ToElement(new { probe = i }), $"Diagnostics sample {i} of {probes}."))
                .ToList();
            return new("playbook:diagnostics@1", steps, ExpectHealthy: false, $"Collect {probes} diagnostics sample(s).");
        }

        private static Plan Scaler(PlanInput input)
        {
            var replicas = Int(input.Parameters, "replicas", 3, 0, 100);
            return new("playbook:scaler@1",
                [new("s1", "sample.scale", AgenticJson.ToElement(new { replicas }), $"Scale to {replicas} replica(s) as requested.")],
                ExpectHealthy: false, $"Scale to {replicas}.");
        }

        private static int Int(JsonElement? parameters, string name, int fallback, int min, int max) =>
            parameters is { ValueKind: JsonValueKind.Object } p && p.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var n)
                ? Math.Clamp(n, min, max)
                : fallback;
    }
}
