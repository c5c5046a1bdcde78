using System.Text.Json;
using Agentic.Core.Agents;
using Agentic.Core.Json;
using Agentic.Core.Policy.Language;

namespace Agentic.Core.Tests.Agents;

/// <summary>Agent YAML: what loads, and every kind of mistake reported with its file, line, column, code and message.</summary>
public sealed class AgentLoaderTests
{
    private const string File = "agents/probe.yaml";

    private static readonly string[] KnownTools = ["sample.diagnostics", "sample.restart", "sample.scale", "http.request"];

    // Line numbers in the tests below count from 1 at "name:".
    private const string Valid = """
        name: probe
        version: "2"
        description: Probes and diagnoses.
        autonomy: supervised
        tools: [sample.diagnostics, sample.restart]
        playbook:
          parameters:
            samples: { type: integer, default: 2, min: 0, max: 5 }
          rules:
            - when: observation.healthy
              rationale: All ${observation.status}.
            - when: observation.status == 'degraded' && run.round < 3
              rationale: ${observation.status} at ${run.target}.
              expectHealthy: true
              steps:
                - tool: sample.diagnostics
                  repeat: parameters.samples
                  args: { probe: "${repeat.index}", of: "${repeat.count}", note: "sample ${repeat.index}/${repeat.count}" }
                  rationale: Sample ${repeat.index}.
                - tool: sample.restart
                  when: observation.details.restartable == true
                  args:
                    reason: probe said ${observation.status}
                    target: ${run.target}
                    literal: $${not a binding}
                    flags: [1, 2.5, true, null, "7", plain]
                  rationale: Restart.
        """;

    [Fact]
    public void ValidAgent_Loads_WithVersionHashSourceToolsAndTheDefaultHealthProbe()
    {
        var agent = AgentLoader.Load(Valid, File, KnownTools);

        Assert.Equal(("probe", "2", "Probes and diagnoses.", "supervised", "playbook"), (agent.Name, agent.Version, agent.Description, agent.Autonomy, agent.PlannerKind));
        Assert.Equal(AgenticJson.Digest(Valid), agent.Hash);
        Assert.Equal(File, agent.Source);
        Assert.Equal(["sample.diagnostics", "sample.restart"], agent.Tools);
        Assert.Equal(HttpProbeSource.Health, Assert.Single(agent.Signals));
        Assert.Null(agent.Targets);
        Assert.Null(agent.Guards);
    }

    [Fact]
    public void Playbook_FirstMatchingRule_BindsArgumentsFromTheRunTheObservationAndTheRepeat()
    {
        var agent = AgentLoader.Load(Valid, File, KnownTools);

        var plan = agent.Planner(Input("degraded", healthy: false, details: new { restartable = true }, parameters: """{"samples":3}"""));

        Assert.Equal("playbook:probe@2", plan.Planner);
        Assert.True(plan.ExpectHealthy);
        Assert.Equal("degraded at http://svc.test.", plan.Rationale);
        Assert.Equal(["s1", "s2", "s3", "s4"], plan.Steps.Select(s => s.StepId));
        Assert.Equal("""{"probe":2,"of":3,"note":"sample 2/3"}""", plan.Steps[1].Arguments.GetRawText());
        Assert.Equal("Sample 2.", plan.Steps[1].Rationale);
        Assert.Equal("sample.restart", plan.Steps[3].Tool);
        Assert.Equal("""{"reason":"probe said degraded","target":"http://svc.test","literal":"${not a binding}","flags":[1,2.5,true,null,"7","plain"]}""", plan.Steps[3].Arguments.GetRawText());
    }

    [Fact]
    public void Playbook_StepCondition_AndParameterClamp_AndNoMatchingRule()
    {
        var agent = AgentLoader.Load(Valid, File, KnownTools);

        var clamped = agent.Planner(Input("degraded", healthy: false, details: new { restartable = false }, parameters: """{"samples":99}"""));
        Assert.Equal(5, clamped.Steps.Count);
        Assert.All(clamped.Steps, s => Assert.Equal("sample.diagnostics", s.Tool));

        var healthy = agent.Planner(Input("ok", healthy: true));
        Assert.Empty(healthy.Steps);
        Assert.Equal("All ok.", healthy.Rationale);

        var other = agent.Planner(Input("down", healthy: false));
        Assert.Empty(other.Steps);
        Assert.False(other.ExpectHealthy);
        Assert.Equal("No rule of the playbook matches the observation (status down); no action.", other.Rationale);
    }

    [Fact]
    public void SignalsTargetsAndGuards_Load()
    {
        var agent = AgentLoader.Load("""
            name: narrow
            version: "1"
            description: d
            signals:
              - kind: http-probe
                path: /api/status
                timeout: 3s
            tools: [sample.scale]
            targets:
              - { scheme: http, host: svc.internal, port: 8080, paths: ['/services/**'], allowPrivate: true }
            guards: { maxSteps: 4, maxToolCalls: 6, budget: 2.5, maxIdenticalCalls: 2, maxPlans: 3, deadline: 1h30m }
            playbook:
              rules:
                - rationale: Nothing.
            """, File, KnownTools);

        Assert.Equal(new HttpProbeSource("api/status", TimeSpan.FromSeconds(3)), Assert.Single(agent.Signals));
        var target = Assert.Single(agent.Targets!);
        Assert.Equal(("http", "svc.internal", 8080, true), (target.Scheme, target.Host, target.Port, target.AllowPrivate));
        Assert.Equal(["/services/**"], target.Paths);
        Assert.Equal(new Agentic.Core.Workflow.RunGuards { MaxSteps = 4, MaxToolCalls = 6, Budget = 2.5, MaxIdenticalCalls = 2, MaxPlans = 3, Deadline = TimeSpan.FromMinutes(90) }, agent.Guards);
    }

    [Fact]
    public void UnknownField_IsReported_WithTheNearestKnownKey()
    {
        var error = Load(Valid.Replace("autonomy: supervised", "autonmy: supervised", StringComparison.Ordinal));

        AssertSingle(error, 4, 1, DiagnosticCodes.UnknownKey, "unknown key 'autonmy' in the agent (did you mean 'autonomy'?)");
    }

    [Fact]
    public void UnknownFieldInAStep_IsReported()
    {
        var error = Load(Valid.Replace("      rationale: Restart.", "      rationle: Restart.", StringComparison.Ordinal));

        Assert.Equal(
            [
                new Diagnostic(File, 20, 11, DiagnosticCodes.MissingKey, "missing required key 'rationale' in step #2 of rule #2 of the playbook of agent 'probe'"),
                new Diagnostic(File, 27, 11, DiagnosticCodes.UnknownKey, "unknown key 'rationle' in step #2 of rule #2 of the playbook of agent 'probe' (did you mean 'rationale'?)"),
            ],
            error.Diagnostics);
    }

    [Fact]
    public void WrongTypes_AreReported_WithoutCascading()
    {
        var error = Load(Valid
            .Replace("tools: [sample.diagnostics, sample.restart]", "tools: sample.diagnostics", StringComparison.Ordinal)
            .Replace("expectHealthy: true", "expectHealthy: yes", StringComparison.Ordinal)
            .Replace("default: 2, min: 0", "default: two, min: 0", StringComparison.Ordinal));

        Assert.Equal(
            [
                new Diagnostic(File, 5, 8, DiagnosticCodes.InvalidValue, "'tools' in agent 'probe' must be a list of tool names"),
                new Diagnostic(File, 8, 40, DiagnosticCodes.InvalidValue, "'default' in parameter 'samples' of the playbook of agent 'probe' must be an integer from 0 to 5"),
                new Diagnostic(File, 14, 22, DiagnosticCodes.InvalidValue, "'expectHealthy' in rule #2 of the playbook of agent 'probe' must be true or false"),
            ],
            error.Diagnostics);
    }

    [Fact]
    public void UnknownTool_IsReported_AtItsListEntry_WithTheNearestTool()
    {
        var yaml = Valid.Replace("sample.restart]", "sample.restrat]", StringComparison.Ordinal).Replace("- tool: sample.restart", "- tool: sample.restrat", StringComparison.Ordinal);

        var error = Assert.Throws<AgentLoadException>(() => AgentLoader.Load(yaml, File, KnownTools));

        AssertSingle(error, 5, 29, DiagnosticCodes.UnknownTool, "agent 'probe' lists tool 'sample.restrat', which the deployment does not have (did you mean 'sample.restart'?)");
        // Without the deployment's tools the agent loads; the catalog's start-up check reports the same diagnostic.
        var catalog = new AgentCatalog([AgentLoader.Load(yaml, File)]);
        Assert.Equal(error.Diagnostics, catalog.CheckTools(KnownTools));
        Assert.Empty(AgentCatalog.Default.CheckTools([.. KnownTools, "contract.record"]));
    }

    [Fact]
    public void StepTool_NotAmongTheAgentsTools_IsReported()
    {
        var error = Load(Valid.Replace("- tool: sample.restart", "- tool: sample.scale", StringComparison.Ordinal));

        AssertSingle(error, 20, 17, DiagnosticCodes.UndeclaredTool, "step #2 of rule #2 of the playbook of agent 'probe' calls 'sample.scale', which is not among the agent's tools (sample.diagnostics, sample.restart)");
    }

    [Fact]
    public void UnknownAutonomy_IsReported_WithTheNearestLevel()
    {
        var error = Load(Valid.Replace("autonomy: supervised", "autonomy: autonomus", StringComparison.Ordinal));

        AssertSingle(error, 4, 11, DiagnosticCodes.InvalidAutonomy, "invalid autonomy 'autonomus' in agent 'probe' (did you mean 'autonomous'?)");
    }

    [Theory]
    [InlineData("observation.status = 'degraded'", 10, 32, DiagnosticCodes.SyntaxError, "syntax error: '=' is not an operator (use '==')")]
    [InlineData("observation.stauts == 'degraded'", 10, 13, DiagnosticCodes.UnknownAttribute, "unknown attribute 'observation.stauts' (did you mean 'observation.status'?)")]
    [InlineData("observation.healthy == 'yes'", 10, 36, DiagnosticCodes.TypeMismatch, "type mismatch: cannot compare observation.healthy (bool) with 'yes' (string)")]
    [InlineData("principal.id == 'x'", 10, 13, DiagnosticCodes.UnknownAttribute, "unknown attribute 'principal.id' (attributes are agent.name, agent.version, observation.details, observation.digest, observation.healthy, observation.source, observation.status, parameters.samples, run.goal, run.id, run.round, run.target, observation.details.<path> and observation.signals.<name>.<attribute>)")]
    [InlineData("repeat.index > 1", 10, 13, DiagnosticCodes.UnknownAttribute, "unknown attribute 'repeat.index' (repeat.index and repeat.count are defined only in a step with 'repeat')")]
    public void BadPredicate_IsReported_AtTheOffendingToken(string when, int line, int column, string code, string message)
    {
        var error = Load(Valid.Replace("- when: observation.healthy", "- when: " + when, StringComparison.Ordinal));

        AssertSingle(error, line, column, code, message);
    }

    [Theory]
    [InlineData("All ${observation.stat}.", 11, 24, DiagnosticCodes.UnknownAttribute, "unknown attribute 'observation.stat' (did you mean 'observation.status'?)")]
    [InlineData("All ${parameters.sampels}.", 11, 24, DiagnosticCodes.UnknownAttribute, "unknown attribute 'parameters.sampels' (did you mean 'parameters.samples'?)")]
    [InlineData("All ${repeat.index}.", 11, 24, DiagnosticCodes.UnknownAttribute, "unknown attribute 'repeat.index' (repeat.index and repeat.count are defined only in a step with 'repeat')")]
    [InlineData("All ${observation.status.", 11, 22, DiagnosticCodes.SyntaxError, "syntax error: unterminated binding '${' (close it with '}', or write '$${' for a literal '${')")]
    [InlineData("All ${no spaces}.", 11, 22, DiagnosticCodes.SyntaxError, "syntax error: '${no spaces}' is not a binding (write an attribute, e.g. '${observation.status}')")]
    public void BindingToAnUnknownAttribute_IsReported_AtTheBinding(string rationale, int line, int column, string code, string message)
    {
        var error = Load(Valid.Replace("rationale: All ${observation.status}.", "rationale: " + rationale, StringComparison.Ordinal));

        AssertSingle(error, line, column, code, message);
    }

    [Fact]
    public void BindingInAnArgument_ToAnUnknownAttribute_IsReported()
    {
        var error = Load(Valid.Replace("target: ${run.target}", "target: ${run.targte}", StringComparison.Ordinal));

        AssertSingle(error, 24, 23, DiagnosticCodes.UnknownAttribute, "unknown attribute 'run.targte' (did you mean 'run.target'?)");
    }

    [Fact]
    public void DuplicateAgentName_IsReported_AtTheSecondDefinition()
    {
        var error = Assert.Throws<AgentLoadException>(() => AgentLoader.LoadAll([(File, Valid), ("agents/probe-copy.yaml", Valid)]));

        Assert.Equal([new Diagnostic("agents/probe-copy.yaml", 1, 7, DiagnosticCodes.DuplicateAgent, "duplicate agent name 'probe' (first defined in agents/probe.yaml at line 1)")], error.Diagnostics);
    }

    [Fact]
    public void LlmPlanner_NeedsItsModelAndPromptTemplate()
    {
        var error = Load("""
            name: assistant
            version: "1"
            description: d
            planner: llm
            tools: [http.request]
            """);

        AssertSingle(error, 1, 1, DiagnosticCodes.MissingKey, "missing required key 'llm' in agent 'assistant' (its planner is 'llm': name its model and prompt template)");
    }

    [Fact]
    public void LlmPlanner_AskedAgainAfterEachAction_LoadsWithTheModeAndItsPlanGuard()
    {
        var agent = AgentLoader.Load("""
            name: assistant
            version: "1"
            description: d
            planner: llm
            llm: { model: default, prompt: task-planner, replan: after-each-action }
            tools: [http.request]
            guards: { maxPlans: 4 }
            """, File, KnownTools);

        Assert.Equal(ReplanMode.AfterEachAction, agent.Llm!.Replan);
        Assert.Equal(4, agent.Guards!.MaxPlans);
        Assert.Equal(ReplanMode.None, AgentLoader.Load(LlmAgent("llm: { model: default, prompt: task-planner, replan: none }"), File, KnownTools).Llm!.Replan);
        Assert.Equal(ReplanMode.None, AgentLoader.Load(LlmAgent("llm: { model: default, prompt: task-planner }"), File, KnownTools).Llm!.Replan);
    }

    [Theory]
    [InlineData("llm: { model: default, prompt: task-planner, replan: after-each-action }", 5, 54, "'replan: after-each-action' in the llm section of agent 'assistant' asks the planner again after each action, and each plan counts against the guard 'maxPlans', which is 1: set guards.maxPlans to at least 2 (the most actions plus one)")]
    [InlineData("llm: { model: default, prompt: task-planner, replan: after-each-acton }", 5, 54, "unknown replan 'after-each-acton' in the llm section of agent 'assistant' (did you mean 'after-each-action'?)")]
    public void LlmReplanMistakes_AreReported(string llm, int line, int column, string message)
    {
        AssertSingle(Load(LlmAgent(llm)), line, column, DiagnosticCodes.InvalidValue, message);
    }

    private static string LlmAgent(string llm) => $"""
        name: assistant
        version: "1"
        description: d
        planner: llm
        {llm}
        tools: [http.request]
        """;

    [Theory]
    [InlineData("planner: playbok", 5, 10, DiagnosticCodes.InvalidValue, "unknown planner 'playbok' in agent 'probe' (did you mean 'playbook'?)")]
    [InlineData("name: Probe Agent", 1, 7, DiagnosticCodes.InvalidValue, "invalid agent name 'Probe Agent' (use 1 to 64 letters, digits, '.', '_' and '-', starting with a letter or digit)")]
    [InlineData("signals: [{ kind: queue-dept }]", 5, 19, DiagnosticCodes.InvalidValue, "unknown signal kind 'queue-dept' in signal #1 of agent 'probe' (did you mean 'queue-depth'?)")]
    [InlineData("signals: [{ kind: http-probe, path: '../admin?x=1' }]", 5, 37, DiagnosticCodes.InvalidValue, "invalid probe path '../admin?x=1' in signal #1 of agent 'probe' (a route under the target: segments of letters, digits, '-', '.', '_' and '~', no query)")]
    [InlineData("signals: [{ kind: http-probe, timeout: 5m }]", 5, 40, DiagnosticCodes.InvalidDuration, "invalid timeout '5m' in signal #1 of agent 'probe' (a duration of at most 60s, e.g. '10s')")]
    [InlineData("guards: { maxSteps: 0 }", 5, 21, DiagnosticCodes.InvalidValue, "'maxSteps' in the guards of agent 'probe' must be an integer from 1 to 10000")]
    [InlineData("targets: [{ host: svc.internal, paths: [api] }]", 5, 11, DiagnosticCodes.InvalidValue, "target #1 of agent 'probe':Paths: 'api' must start with '/'.")]
    public void OtherMistakes_AreReported(string line, int atLine, int column, string code, string message)
    {
        // A name replaces the agent's; anything else is added as line 5.
        var yaml = line.StartsWith("name:", StringComparison.Ordinal)
            ? Valid.Replace("name: probe", line, StringComparison.Ordinal)
            : Valid.Replace("autonomy: supervised\n", "autonomy: supervised\n" + line + "\n", StringComparison.Ordinal);

        var error = Load(yaml);

        Assert.Contains(new Diagnostic(File, atLine, column, code, message), error.Diagnostics);
    }

    [Fact]
    public void InvalidYaml_AndMissingKeys_AreReported()
    {
        var invalid = Assert.Single(Load("name: [unclosed").Diagnostics);
        Assert.Equal((File, DiagnosticCodes.InvalidYaml), (invalid.File, invalid.Code));
        Assert.Equal(
            [
                new Diagnostic(File, 1, 1, DiagnosticCodes.MissingKey, "missing required key 'version' in the agent"),
                new Diagnostic(File, 1, 1, DiagnosticCodes.MissingKey, "missing required key 'tools' in the agent"),
                new Diagnostic(File, 1, 1, DiagnosticCodes.MissingKey, "missing required key 'playbook' in agent 'bare' (its planner is 'playbook')"),
            ],
            Load("name: bare\ndescription: d\n").Diagnostics);
    }

    [Fact]
    public void RuleAfterAnUnconditionalRule_IsUnreachable()
    {
        var error = Load(Valid.Replace("    - when: observation.healthy\n", "    - rationale: Always.\n    - when: observation.healthy\n", StringComparison.Ordinal));

        Assert.Contains(error.Diagnostics, d => d is { Line: 11, Column: 7, Code: DiagnosticCodes.UnreachableRule });
    }

    [Fact]
    public void RepeatOfAnUnboundedParameter_IsRefused()
    {
        var error = Load(Valid.Replace("min: 0, max: 5", "min: 0", StringComparison.Ordinal));

        AssertSingle(error, 17, 19, DiagnosticCodes.InvalidValue, "'repeat' in step #1 of rule #2 of the playbook of agent 'probe' names 'parameters.samples', which must be an integer parameter with 'min' of 0 or more and 'max' of at most 100");
    }

    [Fact]
    public void Directory_LoadsEveryYamlFile_AndReportsAMissingOrEmptyDirectory()
    {
        var directory = Directory.CreateTempSubdirectory("agentic-agents-");
        try
        {
            var missing = Assert.Throws<AgentLoadException>(() => AgentCatalog.Load(Path.Combine(directory.FullName, "none")));
            Assert.Equal(DiagnosticCodes.FileNotFound, Assert.Single(missing.Diagnostics).Code);
            var empty = Assert.Throws<AgentLoadException>(() => AgentCatalog.Load(directory.FullName));
            Assert.Equal($"agents directory '{directory.FullName}' holds no agent (*.yaml)", Assert.Single(empty.Diagnostics).Message);

            System.IO.File.WriteAllText(Path.Combine(directory.FullName, "probe.yaml"), Valid);
            System.IO.File.WriteAllText(Path.Combine(directory.FullName, "notes.txt"), "not an agent");
            var catalog = AgentCatalog.Load(directory.FullName);

            Assert.Equal(["probe"], catalog.Names);
            Assert.Equal(Path.Combine(directory.FullName, "probe.yaml"), catalog.Get("probe").Source);
            Assert.Same(AgentCatalog.Default, AgentCatalog.Load(null));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public void ShippedAgents_AreEmbeddedYaml_Versioned_AndHashed()
    {
        foreach (var agent in AgentCatalog.Default.Agents)
        {
            var path = Path.Combine(Agentic.Testing.Repo.Root, "agents", agent.Name + ".yaml");
            Assert.Equal($"agents/{agent.Name}.yaml", agent.Source);
            Assert.Equal(agent.Name is "task" or "contract-intake" ? "2" : "1", agent.Version);
            Assert.Equal(AgenticJson.Digest(System.IO.File.ReadAllText(path)), agent.Hash);
            Assert.Equal(agent.Name is "task" or "contract-intake" ? "llm" : "playbook", agent.PlannerKind);
            if (agent.Name == "contract-intake")
            {
                // The register's record, and the request's document under its data contract.
                var record = Assert.IsType<HttpProbeSource>(agent.Signals[0]);
                Assert.Equal(("http-probe", "record", TimeSpan.FromSeconds(10), null), (record.Name, record.Path, record.Timeout, record.Contract?.Path));
                var document = Assert.IsType<RequestSource>(agent.Signals[1]);
                Assert.Equal(("document", "parameters.document", "schemas/contract-document.schema.json", false), (document.Name, document.Path, document.Contract?.Path, document.Trusted));
                Assert.Equal(2, agent.Signals.Count);
                continue;
            }
            var probe = Assert.IsType<HttpProbeSource>(Assert.Single(agent.Signals));
            Assert.Equal(("health", "health", TimeSpan.FromSeconds(10), "schemas/health-answer.schema.json"), (probe.Name, probe.Path, probe.Timeout, probe.Contract?.Path));
            Assert.Equal(AgenticJson.Digest(System.IO.File.ReadAllText(Path.Combine(Agentic.Testing.Repo.Root, "agents", "schemas", "health-answer.schema.json"))), probe.Contract!.Hash);
            Assert.False(probe.Trusted);
        }
        var task = AgentCatalog.Default.Get("task");
        Assert.Equal(("default", "task-planner", ReplanMode.AfterEachAction), (task.Llm!.Model, task.Llm.Prompt, task.Llm.Replan));
        Assert.True(task.Guards!.MaxPlans >= 2);
        Assert.Equal(("default", "contract-intake"), (AgentCatalog.Default.Get("contract-intake").Llm!.Model, AgentCatalog.Default.Get("contract-intake").Llm!.Prompt));
    }

    private static AgentLoadException Load(string yaml) => Assert.Throws<AgentLoadException>(() => AgentLoader.Load(yaml, File, KnownTools));

    private static void AssertSingle(AgentLoadException error, int line, int column, string code, string message) =>
        Assert.Equal(new Diagnostic(File, line, column, code, message), Assert.Single(error.Diagnostics));

    private static PlanInput Input(string status, bool healthy, object? details = null, string? parameters = null)
    {
        var observation = new Observation("http-probe:http://svc.test/health", DateTimeOffset.UnixEpoch, "sha256:x", healthy, status, AgenticJson.ToElement(details ?? new { status }));
        return new PlanInput("run-1", "probe", Goal: null, "http://svc.test", parameters is null ? null : JsonDocument.Parse(parameters).RootElement.Clone(), observation);
    }
}
