using System.Text.Json;
using Agentic.Core.Agents;
using Agentic.Core.Json;
using Agentic.Core.Policy.Language;

namespace Agentic.Core.Tests.Agents;

/// <summary>
/// Signal sources in agent YAML: every kind and key loads as written, and every mistake (an unknown kind or key, a bad
/// value, a bad path, a missing or invalid data contract, a duplicate name, an untrusted trust entry) is reported with
/// its file, line, column, code and exact message. Playbook predicates read the readings by signal name.
/// </summary>
public sealed class SignalLoaderTests
{
    private const string File = "agents/watcher.yaml";

    private const string Contract = """
        { "type": "object", "required": ["title"], "properties": { "title": { "type": "string" }, "total": { "type": "number", "maximum": 1000 } } }
        """;

    private static readonly Dictionary<string, string> Files = new(StringComparer.Ordinal)
    {
        ["schemas/contract.schema.json"] = Contract,
        ["schemas/depth.json"] = """{ "type": "integer", "minimum": 0 }""",
        ["schemas/broken.json"] = "{ not json",
        ["schemas/remote.json"] = """{ "type": "object", "properties": { "a": { "$ref": "http://169.254.169.254/latest/meta-data" } } }""",
    };

    // Line 5 is the signals (one line each below); a playbook that reads no signal, so only the signals can be wrong.
    private static string Agent(string signals) => $"""
        name: watcher
        version: "1"
        description: Watches a backlog.
        tools: [sample.diagnostics]
        {signals}
        playbook:
          rules:
            - rationale: Nothing to do.
        """;

    private static AgentDefinition Load(string yaml) => AgentLoader.Load(yaml, File, readFile: path => Files.GetValueOrDefault(path));

    private static IReadOnlyList<Diagnostic> Problems(string yaml) => Assert.Throws<AgentLoadException>(() => Load(yaml)).Diagnostics;

    [Fact]
    public void EveryKind_LoadsWithItsNameContractTrustAndSettings_InOrder()
    {
        var agent = Load("""
            name: watcher
            version: "1"
            description: Watches a backlog.
            tools: [sample.diagnostics]
            signals:
              - kind: http-probe
                name: health
                path: api/status
                timeout: 3s
                extract: { depth: $.queue.depth, first: "$.items[0].id" }
              - kind: queue-depth
                name: backlog
                queue: agent-runs
                schema: schemas/depth.json
                trusted: true
              - kind: table-count
                table: incidents
                filter: "Status eq 'open'"
              - kind: request
                name: contract
                path: parameters.document
                schema: schemas/contract.schema.json
                trusted: false
            playbook:
              rules:
                - rationale: Nothing to do.
            """);

        Assert.Equal(["health", "backlog", "table-count", "contract"], agent.Signals.Select(s => s.Name));
        var probe = Assert.IsType<HttpProbeSource>(agent.Signals[0]);
        Assert.Equal(("api/status", TimeSpan.FromSeconds(3), false, (DataContract?)null), (probe.Path, probe.Timeout, probe.Trusted, probe.Contract));
        Assert.Equal([("depth", "$.queue.depth"), ("first", "$.items[0].id")], probe.Extract!.Select(e => (e.Name, e.Path.Text)));
        var backlog = Assert.IsType<QueueDepthSource>(agent.Signals[1]);
        Assert.Equal(("agent-runs", true, "schemas/depth.json", AgenticJson.Digest(Files["schemas/depth.json"])), (backlog.Queue, backlog.Trusted, backlog.Contract!.Path, backlog.Contract.Hash));
        Assert.Equal(new TableCountSource("incidents", "Status eq 'open'", TableCountSource.DefaultMax), agent.Signals[2]);
        var contract = Assert.IsType<RequestSource>(agent.Signals[3]);
        Assert.Equal(("parameters.document", false, "schemas/contract.schema.json"), (contract.Path, contract.Trusted, contract.Contract!.Path));
        Assert.Empty(contract.Contract.Schema.Validate(JsonSerializer.SerializeToElement(new { title = "Lease" })));
    }

    [Theory]
    [InlineData("signals: [{ kind: queue-depth }]", "{", DiagnosticCodes.MissingKey, "missing required key 'queue' in signal #1 of agent 'watcher' (a queue-depth signal)")]
    [InlineData("signals: [{ kind: queue-depth, queue: Agent_Runs }]", "Agent_Runs", DiagnosticCodes.InvalidValue, "invalid queue name 'Agent_Runs' in signal #1 of agent 'watcher' (an Azure Storage queue name: 3 to 63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit)")]
    [InlineData("signals: [{ kind: queue-depth, queue: ab }]", "ab }", DiagnosticCodes.InvalidValue, "invalid queue name 'ab' in signal #1 of agent 'watcher' (an Azure Storage queue name: 3 to 63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit)")]
    [InlineData("signals: [{ kind: queue-depth, queue: agent--runs }]", "agent--runs", DiagnosticCodes.InvalidValue, "invalid queue name 'agent--runs' in signal #1 of agent 'watcher' (an Azure Storage queue name: 3 to 63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit)")]
    [InlineData("signals: [{ kind: queue-depth, queue: 'https://other.queue.core.windows.net/q' }]", "'https", DiagnosticCodes.InvalidValue, "invalid queue name 'https://other.queue.core.windows.net/q' in signal #1 of agent 'watcher' (an Azure Storage queue name: 3 to 63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit)")]
    [InlineData("signals: [{ kind: table-count }]", "{", DiagnosticCodes.MissingKey, "missing required key 'table' in signal #1 of agent 'watcher' (a table-count signal)")]
    [InlineData("signals: [{ kind: table-count, table: open-incidents }]", "open-incidents", DiagnosticCodes.InvalidValue, "invalid table name 'open-incidents' in signal #1 of agent 'watcher' (an Azure Storage table name: 3 to 63 letters and digits, starting with a letter, not 'tables')")]
    [InlineData("signals: [{ kind: table-count, table: Tables }]", "Tables", DiagnosticCodes.InvalidValue, "invalid table name 'Tables' in signal #1 of agent 'watcher' (an Azure Storage table name: 3 to 63 letters and digits, starting with a letter, not 'tables')")]
    [InlineData("signals: [{ kind: table-count, table: incidents, max: 0 }]", "0 }", DiagnosticCodes.InvalidValue, "'max' in signal #1 of agent 'watcher' must be an integer from 1 to 100000")]
    [InlineData("signals: [{ kind: table-count, table: incidents, max: 100001 }]", "100001", DiagnosticCodes.InvalidValue, "'max' in signal #1 of agent 'watcher' must be an integer from 1 to 100000")]
    [InlineData("signals: [{ kind: table-count, table: incidents, filter: ' ' }]", "' '", DiagnosticCodes.InvalidValue, "'filter' in signal #1 of agent 'watcher' must be an OData filter of 1 to 1024 characters on one line (e.g. \"Status eq 'open'\")")]
    [InlineData("signals: [{ kind: request }]", "{", DiagnosticCodes.MissingKey, "missing required key 'path' in signal #1 of agent 'watcher' (a request signal)")]
    [InlineData("signals: [{ kind: request, path: body.document }]", "body.document", DiagnosticCodes.InvalidValue, "invalid request path 'body.document' in signal #1 of agent 'watcher' (goal, parameters, or members under it such as 'parameters.document')")]
    [InlineData("signals: [{ kind: request, path: parameters..x }]", "parameters..x", DiagnosticCodes.InvalidValue, "invalid request path 'parameters..x' in signal #1 of agent 'watcher' (goal, parameters, or members under it such as 'parameters.document')")]
    [InlineData("signals: [{ kind: queue-dept }]", "queue-dept", DiagnosticCodes.InvalidValue, "unknown signal kind 'queue-dept' in signal #1 of agent 'watcher' (did you mean 'queue-depth'?)")]
    [InlineData("signals: [{ kind: webhook }]", "webhook", DiagnosticCodes.InvalidValue, "unknown signal kind 'webhook' in signal #1 of agent 'watcher' (expected http-probe, queue-depth, table-count, request)")]
    [InlineData("signals: [{ kind: http-probe, queue: agent-runs }]", "queue:", DiagnosticCodes.UnknownKey, "key 'queue' does not apply to http-probe signals (signal #1 of agent 'watcher' takes kind, name, schema, trusted, path, timeout, extract)")]
    [InlineData("signals: [{ kind: queue-depth, queue: agent-runs, filter: x }]", "filter", DiagnosticCodes.UnknownKey, "key 'filter' does not apply to queue-depth signals (signal #1 of agent 'watcher' takes kind, name, schema, trusted, queue)")]
    [InlineData("signals: [{ kind: queue-depth, queue: agent-runs, quue: x }]", "quue", DiagnosticCodes.UnknownKey, "unknown key 'quue' in signal #1 of agent 'watcher' (did you mean 'queue'?)")]
    [InlineData("signals: [{ kind: request, path: goal, name: 9lives }]", "9lives", DiagnosticCodes.InvalidValue, "invalid signal name '9lives' in signal #1 of agent 'watcher' (use 1 to 64 letters, digits, '_' and '-', starting with a letter)")]
    [InlineData("signals: [{ kind: request, path: goal, name: a.b }]", "a.b", DiagnosticCodes.InvalidValue, "invalid signal name 'a.b' in signal #1 of agent 'watcher' (use 1 to 64 letters, digits, '_' and '-', starting with a letter)")]
    [InlineData("signals: [{ kind: request, path: goal, trusted: yes }]", "yes", DiagnosticCodes.InvalidValue, "'trusted' in signal #1 of agent 'watcher' must be true or false")]
    [InlineData("signals: [{ kind: request, path: goal, schema: ../secrets.json }]", "../", DiagnosticCodes.InvalidValue, "invalid schema path '../secrets.json' in signal #1 of agent 'watcher' (a .json file beside the agent or below it, e.g. 'schemas/contract.schema.json')")]
    [InlineData("signals: [{ kind: request, path: goal, schema: /etc/contract.json }]", "/etc", DiagnosticCodes.InvalidValue, "invalid schema path '/etc/contract.json' in signal #1 of agent 'watcher' (a .json file beside the agent or below it, e.g. 'schemas/contract.schema.json')")]
    [InlineData("signals: [{ kind: request, path: goal, schema: schemas/contract.yaml }]", "schemas/", DiagnosticCodes.InvalidValue, "invalid schema path 'schemas/contract.yaml' in signal #1 of agent 'watcher' (a .json file beside the agent or below it, e.g. 'schemas/contract.schema.json')")]
    [InlineData("signals: [{ kind: request, path: goal, schema: schemas/none.json }]", "schemas/", DiagnosticCodes.FileNotFound, "schema file 'schemas/none.json' of signal #1 of agent 'watcher' does not exist")]
    [InlineData("signals: [{ kind: request, path: goal, schema: schemas/remote.json }]", "schemas/", DiagnosticCodes.InvalidSchema, "The schema file 'schemas/remote.json' of signal #1 of agent 'watcher' refers to another document ($ref 'http://169.254.169.254/latest/meta-data'); only references inside the schema ('#/...') are followed")]
    [InlineData("signals: [{ kind: http-probe, extract: { depth: '$.a..b' } }]", "'$.a", DiagnosticCodes.InvalidValue, "invalid JSON path '$.a..b' for 'depth' in signal #1 of agent 'watcher' (write '$' and then '.member' or '[index]' parts, e.g. '$.queue.depth')")]
    [InlineData("signals: [{ kind: http-probe, extract: { depth: queue.depth } }]", "queue.depth", DiagnosticCodes.InvalidValue, "invalid JSON path 'queue.depth' for 'depth' in signal #1 of agent 'watcher' (write '$' and then '.member' or '[index]' parts, e.g. '$.queue.depth')")]
    [InlineData("signals: [{ kind: http-probe, extract: { 9x: $.a } }]", "9x", DiagnosticCodes.InvalidValue, "the value names of 'extract' in signal #1 of agent 'watcher' are 1 to 64 letters, digits, '_' and '-', starting with a letter")]
    [InlineData("signals: [{ kind: http-probe, extract: [$.a] }]", "[$", DiagnosticCodes.InvalidValue, "'extract' in signal #1 of agent 'watcher' must be a mapping of 1 to 32 value names to JSON paths (e.g. 'depth: $.queue.depth')")]
    [InlineData("signals: [{ kind: http-probe, timeout: 5m }]", "5m", DiagnosticCodes.InvalidDuration, "invalid timeout '5m' in signal #1 of agent 'watcher' (a duration of at most 60s, e.g. '10s')")]
    [InlineData("signals: []", "[]", DiagnosticCodes.InvalidValue, "'signals' in agent 'watcher' must be a list of signal sources (e.g. '- kind: http-probe')")]
    public void SignalMistake_IsReported_AtItsPosition_WithItsMessage(string signals, string at, string code, string message)
    {
        var problems = Problems(Agent(signals));

        Assert.Equal(new Diagnostic(File, 5, signals.IndexOf(at, StringComparison.Ordinal) + 1, code, message), Assert.Single(problems));
    }

    [Fact]
    public void SchemaFileThatIsNotJson_IsReported_AtTheSchemaPath()
    {
        const string Signals = "signals: [{ kind: request, path: goal, schema: schemas/broken.json }]";

        var problem = Assert.Single(Problems(Agent(Signals)));

        Assert.Equal((5, Signals.IndexOf("schemas/", StringComparison.Ordinal) + 1, DiagnosticCodes.InvalidSchema), (problem.Line, problem.Column, problem.Code));
        Assert.StartsWith("The schema file 'schemas/broken.json' of signal #1 of agent 'watcher' is not a valid JSON Schema: ", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DuplicateSignalNames_AreReported_AtTheSecond_WhetherNamedOrByKind()
    {
        const string Signals = "signals: [{ kind: queue-depth, queue: aaa }, { kind: queue-depth, queue: bbb }, { kind: request, path: goal, name: queue-depth }]";

        var problems = Problems(Agent(Signals));

        Assert.Equal(
            [
                new Diagnostic(File, 5, Signals.IndexOf("queue-depth, queue: bbb", StringComparison.Ordinal) + 1, DiagnosticCodes.DuplicateSignal,
                    "duplicate signal name 'queue-depth' in agent 'watcher' (signal #1 has it too; give one a 'name')"),
                new Diagnostic(File, 5, Signals.LastIndexOf("queue-depth", StringComparison.Ordinal) + 1, DiagnosticCodes.DuplicateSignal,
                    "duplicate signal name 'queue-depth' in agent 'watcher' (signal #1 has it too)"),
            ],
            problems);
    }

    [Theory]
    [InlineData("trust: [observation]", "observation", "'observation' can not be trusted in the llm section of agent 'reader': mark each signal the planner may trust with 'trusted: true' under 'signals'")]
    [InlineData("trust: ['signal:health']", "'signal", "'signal:health' can not be trusted in the llm section of agent 'reader': mark each signal the planner may trust with 'trusted: true' under 'signals'")]
    [InlineData("trust: [request.gaol]", "request.gaol", "unknown data source 'request.gaol' in 'trust' of the llm section of agent 'reader' (did you mean 'request.goal'?)")]
    [InlineData("trust: [documents]", "documents", "unknown data source 'documents' in 'trust' of the llm section of agent 'reader' (expected request.goal or request.parameters)")]
    public void LlmTrust_NamesRequestPartsOnly_SignalsAreTrustedWhereTheyAreDeclared(string trust, string at, string message)
    {
        var yaml = $"""
            name: reader
            version: "1"
            description: Reads.
            planner: llm
            tools: [sample.diagnostics]
            llm:
              model: default
              prompt: task-planner
              {trust}
            """;

        var problem = Assert.Single(Problems(yaml));

        Assert.Equal(new Diagnostic(File, 9, 3 + trust.IndexOf(at, StringComparison.Ordinal), DiagnosticCodes.InvalidValue, message), problem);
    }

    [Fact]
    public void LlmTrust_OfRequestParts_Loads()
    {
        var agent = Load("""
            name: reader
            version: "1"
            description: Reads.
            planner: llm
            tools: [sample.diagnostics]
            llm: { model: default, prompt: task-planner, trust: [request.goal, request.parameters] }
            """);

        Assert.Equal(["request.goal", "request.parameters"], agent.Llm!.Trust);
    }

    private const string Watching = """
        name: watcher
        version: "1"
        description: Watches a backlog.
        tools: [sample.diagnostics]
        signals:
          - { kind: http-probe, name: health }
          - { kind: queue-depth, name: backlog, queue: agent-runs }
        playbook:
          rules:
            - when: observation.signals.backlog.valid && observation.signals.backlog.value > 100
              rationale: Backlog of ${observation.signals.backlog.value} from ${observation.signals.backlog.source}.
              steps:
                - tool: sample.diagnostics
                  args: { depth: "${observation.signals.backlog.value}", latency: "${observation.signals.health.value.latencyMs}" }
                  rationale: Look.
            - when: "!observation.signals.backlog.valid"
              rationale: The backlog broke its contract.
            - rationale: Backlog fine.
        """;

    [Fact]
    public void PlaybookPredicates_ReadReadingsBySignalName()
    {
        var agent = Load(Watching);

        var busy = agent.Planner(Input(Reading("backlog", 150), Reading("health", new { httpStatus = 200, latencyMs = 12.5 })));
        var calm = agent.Planner(Input(Reading("backlog", 50), Reading("health", new { latencyMs = 3 })));
        var broken = agent.Planner(Input(Reading("backlog", 150) with { Value = null, ContractErrors = ["$: expected at most 100, got more"] }, Reading("health", new { })));

        Assert.Equal("Backlog of 150 from queue-depth:agent-runs.", busy.Rationale);
        Assert.Equal("""{"depth":150,"latency":12.5}""", Assert.Single(busy.Steps).Arguments.GetRawText());
        Assert.Equal(("Backlog fine.", 0), (calm.Rationale, calm.Steps.Count));
        Assert.Equal(("The backlog broke its contract.", 0), (broken.Rationale, broken.Steps.Count));
    }

    [Theory]
    [InlineData("observation.signals.backlg.value > 1", "observation.signals.backlg", DiagnosticCodes.UnknownAttribute, "unknown signal 'backlg' in 'observation.signals.backlg.value' (did you mean 'backlog'?)")]
    [InlineData("observation.signals.backlog.size > 1", "observation.signals.backlog.size", DiagnosticCodes.UnknownAttribute, "unknown attribute 'observation.signals.backlog.size' (a signal's attributes are kind, source, digest, observedAt, trusted, valid, value and value.<path>)")]
    public void PlaybookPredicate_OnAnUnknownSignalOrAttribute_IsReported(string condition, string at, string code, string message)
    {
        var yaml = Watching.Replace("observation.signals.backlog.valid && observation.signals.backlog.value > 100", condition, StringComparison.Ordinal);

        var problem = Assert.Single(Problems(yaml));

        Assert.Equal(new Diagnostic(File, 10, 13 + condition.IndexOf(at, StringComparison.Ordinal), code, message), problem);
    }

    [Fact]
    public void Directory_LoadsSchemasRelativeToTheAgentsDirectory()
    {
        var directory = Directory.CreateTempSubdirectory("agentic-signals-");
        try
        {
            Directory.CreateDirectory(Path.Combine(directory.FullName, "schemas"));
            System.IO.File.WriteAllText(Path.Combine(directory.FullName, "schemas", "contract.schema.json"), Contract);
            System.IO.File.WriteAllText(Path.Combine(directory.FullName, "intake.yaml"), Agent("signals: [{ kind: request, name: contract, path: parameters.document, schema: schemas/contract.schema.json }]"));

            var signal = Assert.Single(AgentCatalog.Load(directory.FullName).Get("watcher").Signals);

            Assert.Equal(("contract", "schemas/contract.schema.json", AgenticJson.Digest(Contract)), (signal.Name, signal.Contract!.Path, signal.Contract.Hash));
            Assert.Equal(["$.title: expected string, got integer"], signal.Contract.Schema.Validate(JsonSerializer.SerializeToElement(new { title = 7 }), quoteValues: false));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    private static SignalReading Reading(string name, object value) =>
        new(name, name == "health" ? HttpProbeSource.KindName : QueueDepthSource.KindName, name == "health" ? "http-probe:http://svc.test/health" : "queue-depth:agent-runs",
            DateTimeOffset.UnixEpoch, "sha256:0", Trusted: false) { Value = JsonSerializer.SerializeToElement(value) };

    private static PlanInput Input(params SignalReading[] readings)
    {
        var observation = new Observation("http-probe:http://svc.test/health", DateTimeOffset.UnixEpoch, "sha256:0", true, "ok", JsonSerializer.SerializeToElement(new { status = "ok" }))
        {
            Signals = readings,
        };
        return new PlanInput("run-1", "watcher", null, "http://svc.test", null, observation);
    }
}
