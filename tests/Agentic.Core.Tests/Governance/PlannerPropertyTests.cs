using System.Collections.Concurrent;
using System.Text.Json;
using Agentic.Core.Activities;
using Agentic.Core.Agents;
using Agentic.Core.Governance;
using Agentic.Core.Json;
using Agentic.Core.Policy;
using Agentic.Core.Policy.Language;
using Agentic.Core.Runs;
using Agentic.Core.Tests.Tools;
using Agentic.Core.Tools;
using Agentic.Core.Workflow;
using FsCheck;
using FsCheck.Fluent;

namespace Agentic.Core.Tests.Governance;

/// <summary>
/// Whatever a planner proposes, over any number of plans, a forbidden action is never executed. Random sequences of
/// plans (known, unknown and forbidden tools; arguments that violate schemas or smuggle forbidden values; bad and
/// repeated step ids) are driven through the real decider, gate and act activities under every autonomy level, with
/// every approval granted, so whatever can run does run. Every call that reaches a tool is then checked against the
/// policy on its own.
/// </summary>
public sealed class PlannerPropertyTests
{
    private const string PolicyYaml = """
        id: property
        version: "1"
        rules:
          - id: no-purge
            effect: forbid
            when: tool.name == 'test.purge'
          - id: no-drop
            effect: forbid
            when: tool.name == 'sample.restart' && args.reason matches '*drop*'
          - id: no-big-scale
            effect: forbid
            when: tool.name == 'sample.scale' && args.replicas > 50
          - id: read-only
            effect: permit
            when: tool.sideEffect == 'read-only'
          - id: scale
            effect: permit
            when: tool.name == 'sample.scale'
          - id: restart
            effect: require_approval
            when: tool.name == 'sample.restart'
            approval: { role: operator, quorum: 2, timeout: 10m, onTimeout: reject }
        """;

    private static readonly CompiledPolicy Policy = PolicyLoader.Load(PolicyYaml, "property.yaml");

    private static readonly ToolDescriptor Purge = new("test.purge", "1.0.0", "Deletes everything.", RiskLevel.Low, SideEffect.Irreversible, Idempotent: false, TimeSpan.FromSeconds(5), 1024);

    private static readonly string[] ToolNames = ["sample.health", "sample.diagnostics", "sample.restart", "sample.scale", "test.purge", "unknown.tool"];

    // Mostly arguments a tool accepts (so calls do run), mixed with schema violations and smuggled values.
    private static readonly Gen<JsonElement> Hostile = Gen.Elements(
        "{}", """{"replicas":"3"}""", """{"replicas":null}""", """{"replicas":3,"zone":"eu"}""", """{"reason":5}""",
        """{"reason":"x","command":"drop"}""", """{"probe":"2"}""", "[]", "\"restart\"").Select(Json);

    private static Gen<JsonElement> ArgumentsFor(string tool) => tool switch
    {
        "sample.scale" => Gen.Frequency((4, Gen.Elements(0, 1, 3, 10, 50, 51, 99, 100).Select(n => Json($$"""{"replicas":{{n}}}"""))), (1, Hostile)),
        "sample.restart" => Gen.Frequency((4, Gen.Elements("routine", "please drop the table", "DROP", "drop", "dropped caches").Select(r => Json(JsonSerializer.Serialize(new { reason = r })))), (1, Hostile)),
        "sample.diagnostics" => Gen.Frequency((4, Gen.Choose(1, 3).Select(n => Json($$"""{"probe":{{n}}}"""))), (1, Hostile)),
        _ => Gen.Frequency((4, Gen.Constant(Json("{}"))), (1, Hostile)),
    };

    private static Gen<PlanStep> StepAt(int index) =>
        from tool in Gen.Frequency(ToolNames.Select(t => (t.StartsWith("sample.", StringComparison.Ordinal) ? 3 : 1, Gen.Constant(t))).ToArray())
        from args in ArgumentsFor(tool)
        from id in Gen.Frequency((12, Gen.Constant("s" + index)), (1, Gen.Elements("", "a/b", "x y", "s1")))
        select new PlanStep(id, tool, args, "proposed");

    private static readonly Gen<Plan> PlanGen =
        from count in Gen.Choose(0, 6)
        from steps in Enumerable.Range(1, count).Aggregate(Gen.Constant(Enumerable.Empty<PlanStep>()), (acc, i) => from list in acc from step in StepAt(i) select list.Append(step))
        from healthy in Gen.Elements(true, false)
        select new Plan("scripted", [.. steps], healthy, "whatever the planner wants");

    private static readonly Gen<Scenario> Scenarios =
        from plans in Gen.Choose(1, 4).SelectMany(n => PlanGen.ListOf(n))
        from autonomy in Gen.Elements([.. Autonomy.Levels])
        from environment in Gen.Elements("dev", "prod")
        select new Scenario([.. plans], autonomy, environment);

    [Fact]
    public void NoSequenceOfPlannerProposals_GetsAForbiddenActionExecuted()
    {
        var executed = 0;
        var property = Prop.ForAll(Scenarios.ToArbitrary(), scenario =>
        {
            var calls = Drive(scenario);
            executed += calls.Count;
            foreach (var call in calls)
            {
                Assert.NotEqual("test.purge", call.Tool);
                Assert.NotEqual(Autonomy.Observe, scenario.Autonomy);
                var descriptor = Tools[call.Tool].Descriptor;
                Assert.Empty(Registry.ValidateArguments(call.Tool, call.Arguments));
                var request = new PolicyRequest(new PolicyPrincipal("alice", []), new PolicyAgent("scripted", scenario.Autonomy), PolicyTool.From(descriptor),
                    call.Arguments, new PolicyResource("http://svc.test", scenario.Environment), new PolicyContext(scenario.Environment, 10, 0, 0, scenario.Autonomy));
                var decision = Policy.Evaluate(in request);
                Assert.NotEqual(GateEffect.Forbid, decision.Effect);
                if (call.Tool == "sample.restart")
                {
                    Assert.DoesNotContain("drop", call.Arguments.GetProperty("reason").GetString()!, StringComparison.Ordinal);
                    Assert.True(call.Approvers >= 2, "A restart ran without its quorum of two approvals.");
                }
                if (call.Tool == "sample.scale")
                {
                    Assert.InRange(call.Arguments.GetProperty("replicas").GetInt32(), 0, 50);
                }
            }
            return true;
        });

        // The floor below only catches generators that stop reaching execution. 300 unseeded scenarios executed 253 to 285
        // calls, and once 141, under it; 500 keep an unlucky draw well clear of it.
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(500).WithQuietOnSuccess(true), property);
        Assert.True(executed > 150, $"Only {executed} calls executed over the whole property run: the generators do not exercise execution.");
    }

    private sealed record Scenario(IReadOnlyList<Plan> Plans, string Autonomy, string Environment)
    {
        public override string ToString() => $"{Autonomy}/{Environment}: " + string.Join(" | ", Plans.Select(p => string.Join(", ", p.Steps.Select(s => $"{s.StepId}:{s.Tool}{s.Arguments.GetRawText()}"))));
    }

    private sealed record Call(string Tool, JsonElement Arguments, int Approvers);

    private static readonly Dictionary<string, RecordingTool> Tools = new[]
    {
        new RecordingTool(Sample("sample.health"), """{"status":"ok"}"""),
        new RecordingTool(Sample("sample.diagnostics"), """{"errorRate":0.5}"""),
        new RecordingTool(Sample("sample.restart"), """{"message":"restarted"}"""),
        new RecordingTool(Sample("sample.scale"), """{"message":"scaled","replicas":3}"""),
        new RecordingTool(Purge, """{"message":"purged"}"""),
    }.ToDictionary(t => t.Descriptor.Name);

    private static readonly ToolRegistry Registry = new(Tools.Values);

    private static List<Call> Drive(Scenario scenario)
    {
        var decisions = new MemoryDecisionStore();
        var ledger = new MemoryLedger();
        var controls = new NoControls();
        var audit = Agentic.Testing.TestAudit.InMemoryLog();
        var gate = new GateActivity(new StaticPolicyProvider(Policy), Registry, decisions, controls, audit, TimeProvider.System);
        var act = new ActActivity(Registry, new ToolExecutor(new NoSecrets(), TimeProvider.System), decisions, ledger, controls, new ControlWatch(controls, TimeProvider.System), audit, TimeProvider.System, Agentic.Core.Agents.AgentCatalog.Default);
        var workflow = new AgentWorkflow(new AgentWorkflowOptions { MaxPlans = 4 });
        var request = new RunRequest
        {
            Agent = "scripted",
            Target = "http://svc.test",
            Principal = "alice",
            Environment = scenario.Environment,
            Autonomy = scenario.Autonomy,
        };
        var runId = "run-" + Guid.NewGuid().ToString("N");
        var now = DateTimeOffset.UnixEpoch;
        var state = workflow.Start(request, new StartContext(runId, now));
        var calls = new List<Call>();
        var ct = TestContext.Current.CancellationToken;
        for (var i = 0; i < 200 && !workflow.IsTerminal(state); i++)
        {
            now = now.AddSeconds(1);
            var command = workflow.Decide(state)[0];
            WorkflowEvent change;
            switch (command)
            {
                case CallActivity { Name: AgentActivities.Perceive } call:
                    change = new ActivityCompleted(call.Id, AgenticJson.ToElement(new Observation("probe", now, "sha256:x", false, "degraded", Json("{}"))), now);
                    break;
                case CallActivity { Name: AgentActivities.Plan } call:
                    var round = AgenticJson.FromElement<PlanInput>(call.Input).Round;
                    var plan = round <= scenario.Plans.Count ? scenario.Plans[round - 1] : new Plan("scripted", [], false, "nothing more");
                    change = new ActivityCompleted(call.Id, AgenticJson.ToElement(plan), now);
                    break;
                case CallActivity call:
                    var activity = call.Name == AgentActivities.Gate ? (IActivity)gate : act;
                    var before = Tools.Values.Sum(t => t.Calls.Count);
                    try
                    {
                        var result = activity.RunAsync(call.Input, new ActivityContext(runId, call.Id, 1), ct).GetAwaiter().GetResult();
                        change = new ActivityCompleted(call.Id, result, now);
                    }
                    catch (NonRetryableException ex)
                    {
                        change = new ActivityFailed(call.Id, nameof(NonRetryableException), ex.Message, now);
                    }
                    if (call.Name == AgentActivities.Act && Tools.Values.Sum(t => t.Calls.Count) > before)
                    {
                        var input = AgenticJson.FromElement<ActInput>(call.Input);
                        var approvers = decisions.GetApprovalsAsync(runId, input.StepId, ct).GetAwaiter().GetResult().Count(a => a.Approved);
                        calls.Add(new Call(input.Tool, input.Arguments, approvers));
                    }
                    break;
                case WaitForEvent wait:
                {
                    // Every approval is granted, by a new operator each time, so whatever may run does run.
                    var step = state.Steps[state.Current];
                    var approval = new ApprovalDecision("approve", $"op{step.Approvals.Length + 1}", ["operator", "admin"], step.ArgsDigest, null, now);
                    var stored = decisions.RecordApprovalAsync(runId, step.StepId, approval, ct).GetAwaiter().GetResult();
                    // As the run client does: the approval goes into the run's audit chain before the run hears of it.
                    audit.AppendAsync(runId, Agentic.Core.Audit.AuditEntries.Approved(step.StepId, stored), Agentic.Core.Audit.AuditConflict.Refuse, ct).GetAwaiter().GetResult();
                    change = new EventRaised(wait.EventName, AgenticJson.ToElement(approval), now);
                    break;
                }
                default:
                    throw new InvalidOperationException($"Unexpected first command {command}.");
            }
            state = workflow.Evolve(state, change);
        }
        Assert.True(workflow.IsTerminal(state), "The run did not end within 200 events.");
        return calls;
    }

    private static ToolDescriptor Sample(string name) => SampleServiceTools.Descriptors.Single(d => d.Name == name);

    private static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement.Clone();

    /// <summary>A tool that records every call it receives.</summary>
    private sealed class RecordingTool(ToolDescriptor descriptor, string output) : ITool
    {
        public ConcurrentQueue<JsonElement> Calls { get; } = new();

        public ToolDescriptor Descriptor => descriptor;

        public Task<ToolOutcome> InvokeAsync(ToolCall invocation, CancellationToken cancellationToken)
        {
            Calls.Enqueue(invocation.Arguments);
            return Task.FromResult(new ToolOutcome(200, descriptor.Name + " ran", Json(output)));
        }
    }
}
