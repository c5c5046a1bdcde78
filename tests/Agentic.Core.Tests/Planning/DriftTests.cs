using System.Diagnostics.Metrics;
using Agentic.Core.Activities;
using Agentic.Core.Agents;
using Agentic.Core.Governance;
using Agentic.Core.Json;
using Agentic.Core.Planning;
using Agentic.Core.Policy;
using Agentic.Core.Policy.Language;
using Agentic.Core.Tests.Governance;
using Agentic.Core.Tests.Tools;
using Agentic.Core.Tools;
using Agentic.Core.Workflow;
using Agentic.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Agentic.Core.Tests.Planning;

/// <summary>
/// Planning drift: what the gate and conclude activities record (once per run, command and kind, however often they run),
/// the metric counted once per event, and the report <c>GET /api/agents/{name}/drift</c> answers, on a fake clock.
/// </summary>
public sealed class DriftTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 2, 9, 30, 0, TimeSpan.Zero);

    private static readonly PlanOrigin Prompt1 = new("llm", "llm:task-planner@1") { PromptId = "task-planner", PromptVersion = "1", AgentVersion = "2", Model = "gpt-test" };
    private static readonly PlanOrigin Prompt2 = Prompt1 with { Planner = "llm:task-planner@2", PromptVersion = "2" };
    private static readonly PlanOrigin Playbook = new("playbook", "playbook:service-healer@1") { AgentVersion = "1" };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly CompiledPolicy ForbidRestart = PolicyLoader.Load("""
        id: no-restarts
        version: "4"
        rules:
          - id: forbid-restart
            effect: forbid
            when: tool.name == 'sample.restart'
            description: Restarts are not for models.
          - id: permit-rest
            effect: permit
            when: tool.name != 'sample.restart'
            description: The rest is fine.
        """, "no-restarts.yaml");

    // ---- the gate ----

    private static GateInput Step(string tool, PlanOrigin? origin, bool compensation = false)
    {
        var args = tool == "sample.restart" ? AgenticJson.ToElement(new { reason = "told to" }) : AgenticJson.ToElement(new { });
        return new GateInput("run-1", "p2.fix", "alice", "task", "dev", tool, args, AgenticJson.Digest(args), 1) { Origin = origin, Compensation = compensation };
    }

    private static async Task<GateDecision> GateAsync(GateActivity gate, GateInput input) =>
        AgenticJson.FromElement<GateDecision>(await gate.RunAsync(AgenticJson.ToElement(input), new ActivityContext(input.RunId, AgentWorkflow.Ids.Gate(input.StepId), 1), Ct));

    private static GateActivity Gate(IDriftStore drift, IDecisionStore? decisions = null, IControlStore? controls = null, TimeProvider? clock = null) =>
        new(new StaticPolicyProvider(ForbidRestart), new ToolRegistry(SampleServiceTools.Descriptors.Select(d => new FakeTool(d, TestJson.Parse("{}")))),
            decisions ?? new MemoryDecisionStore(), controls ?? new NoControls(), TestAudit.InMemoryLog(), clock ?? new FakeTimeProvider(Now), drift: drift);

    [Fact]
    public async Task AModelsStepThePolicyForbids_IsRecordedOnce_EvenWhenTheGateRunsAgain()
    {
        var drift = new InMemoryDriftStore();
        var decisions = new MemoryDecisionStore();

        var decision = await GateAsync(Gate(drift, decisions), Step("sample.restart", Prompt1));
        await GateAsync(Gate(drift, decisions, clock: new FakeTimeProvider(Now.AddMinutes(5))), Step("sample.restart", Prompt1));

        Assert.Equal(GateEffect.Forbid, decision.Effect);
        var recorded = Assert.Single(drift.Events);
        Assert.Equal(("task", "run-1", "p2.fix/gate", DriftKinds.ToolForbidden, "p2.fix", "sample.restart"),
            (recorded.Agent, recorded.RunId, recorded.CommandId, recorded.Kind, recorded.StepId, recorded.Tool));
        Assert.Equal(Prompt1, recorded.Origin);
        Assert.Equal(decision.DecidedAt, recorded.At);
        Assert.Equal("Forbidden by no-restarts@4 rule 'forbid-restart': Restarts are not for models.", recorded.Reason);
    }

    [Fact]
    public async Task PermittedSteps_PlaybookSteps_UndoSteps_AndKillSwitches_AreNotModelDrift()
    {
        var drift = new InMemoryDriftStore();
        var controls = new MemoryControls();
        await controls.EngageAsync(ControlScope.Tool, "sample.scale", ControlKind.KillSwitch, "maintenance", "admin-1", Ct);

        await GateAsync(Gate(drift), Step("sample.diagnostics", Prompt1));
        await GateAsync(Gate(drift), Step("sample.restart", origin: null));
        await GateAsync(Gate(drift), Step("sample.restart", Prompt1, compensation: true));
        var stopped = await GateAsync(Gate(drift, controls: controls), Step("sample.scale", Prompt1));

        Assert.Equal((GateEffect.Forbid, Controls.PolicyId), (stopped.Effect, stopped.PolicyId));
        Assert.Empty(drift.Events);
    }

    // ---- the run's end ----

    [Fact]
    public async Task TheRunsEnd_RecordsTheDriftTheWorkflowSaw_OnceHoweverOftenItRuns()
    {
        using var audit = new TestAudit();
        var drift = new InMemoryDriftStore();
        var conclude = new ConcludeActivity(audit.Log, audit.Heads, audit.Checkpointer, new FakeTimeProvider(Now), drift: drift);
        var input = new ConcludeInput("run-7", "failed", "Step s2 (sample.restart) rejected by bob: no", null, 2, 1, 6)
        {
            Agent = "service-healer",
            Signals =
            [
                new RunSignal(DriftKinds.PostConditionFailed, "verify", Now.AddMinutes(-9), "Target still degraded after plan 1.") { Origin = Playbook },
                new RunSignal(DriftKinds.ApprovalRejected, "p2.s2/approval", Now.AddMinutes(-3), "Rejected by bob: no") { StepId = "p2.s2", Tool = "sample.restart", Origin = Playbook },
            ],
        };

        await conclude.RunAsync(AgenticJson.ToElement(input), new ActivityContext("run-7", "conclude", 1), Ct);
        await conclude.RunAsync(AgenticJson.ToElement(input), new ActivityContext("run-7", "conclude", 2), Ct);

        Assert.Equal(
            [(DriftKinds.ApprovalRejected, "p2.s2/approval", "p2.s2", Now.AddMinutes(-3)), (DriftKinds.PostConditionFailed, "verify", (string?)null, Now.AddMinutes(-9))],
            drift.Events.OrderBy(e => e.Kind, StringComparer.Ordinal).Select(e => (e.Kind, e.CommandId, e.StepId, e.At)));
        Assert.All(drift.Events, e => Assert.Equal(("service-healer", "run-7", Playbook), (e.Agent, e.RunId, e.Origin)));
    }

    // ---- the metric ----

    [Fact]
    public async Task TheMetric_CountsAnEventTheFirstTimeItIsRecorded_NeverAgain_AndNeverPlanRounds()
    {
        var counted = new List<(long Value, Dictionary<string, object?> Tags)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == Telemetry.AgenticTelemetry.Meter.Name && instrument.Name == "agentic.drift.events")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            var copy = tags.ToArray().ToDictionary(t => t.Key, t => t.Value);
            if (copy.TryGetValue(Telemetry.AgenticTelemetry.Attr.AgentName, out var agent) && agent is "metric-agent")
            {
                lock (counted)
                {
                    counted.Add((value, copy));
                }
            }
        });
        listener.Start();
        var store = new InMemoryDriftStore();
        var forbidden = new DriftEvent("metric-agent", "run-1", "s1/gate", DriftKinds.ToolForbidden, Now, Prompt2) { StepId = "s1", Tool = "sample.restart" };

        await DriftRecorder.RecordAsync(store, [new DriftEvent("metric-agent", "run-1", "plan", DriftKinds.Plan, Now, Prompt2), forbidden], Ct);
        await DriftRecorder.RecordAsync(store, [forbidden with { At = Now.AddSeconds(30) }], Ct);

        var (value, tags) = Assert.Single(counted);
        Assert.Equal(1, value);
        Assert.Equal((DriftKinds.ToolForbidden, "llm", "llm:task-planner@2", "task-planner", "2", "gpt-test"),
            ((string?)tags["agentic.drift.kind"], (string?)tags["agentic.planner.kind"], (string?)tags["agentic.planner"], (string?)tags["agentic.prompt.id"], (string?)tags["agentic.prompt.version"], (string?)tags["gen_ai.request.model"]));
        Assert.Equal(2, store.Events.Count);
    }

    // ---- the report ----

    private static DriftEvent Event(PlanOrigin origin, string kind, DateTimeOffset at, string run, string command, string? step = null) =>
        new("task", run, command, kind, at, origin) { StepId = step, Reason = $"{kind} in {run}" };

    [Fact]
    public void TheReport_CountsEachKindPerBucketAndInTotal_PerPromptVersion_WithRatesAgainstThePlansMade()
    {
        var clock = new FakeTimeProvider(Now);
        var events = new List<DriftEvent>
        {
            // Prompt 1: four plans over two hours, one refused answer, one forbidden step.
            Event(Prompt1, DriftKinds.Plan, Now.AddMinutes(-130), "r1", "plan"),
            Event(Prompt1, DriftKinds.Plan, Now.AddMinutes(-125), "r1", "plan.2"),
            Event(Prompt1, DriftKinds.PlanInvalid, Now.AddMinutes(-125), "r1", "plan.2"),
            Event(Prompt1, DriftKinds.Plan, Now.AddMinutes(-20), "r2", "plan"),
            Event(Prompt1, DriftKinds.Plan, Now.AddMinutes(-10), "r2", "plan.2"),
            Event(Prompt1, DriftKinds.ToolForbidden, Now.AddMinutes(-9), "r2", "p2.fix/gate", "p2.fix"),
            // Prompt 2: one plan, one rejection.
            Event(Prompt2, DriftKinds.Plan, Now.AddMinutes(-5), "r3", "plan"),
            Event(Prompt2, DriftKinds.ApprovalRejected, Now.AddMinutes(-1), "r3", "s1/approval", "s1"),
            // Outside the window: left out.
            Event(Prompt1, DriftKinds.Plan, Now.AddHours(-25), "r0", "plan"),
            Event(Prompt1, DriftKinds.ToolNotOffered, Now.AddHours(-25), "r0", "plan"),
        };

        var report = DriftReport.Build("task", events, clock.GetUtcNow(), "24h", "1h");

        Assert.Equal(("task", "24h", "1h", Now.AddHours(-24), Now), (report.Agent, report.Window, report.Bucket, report.From, report.To));
        Assert.Equal(DriftKinds.All, report.Kinds);
        Assert.Equal(["llm:task-planner@1", "llm:task-planner@2"], report.Planners.Select(p => p.Planner));
        var first = report.Planners[0];
        Assert.Equal(("task-planner", "1", "2", "gpt-test", 4), (first.PromptId, first.PromptVersion, first.AgentVersion, first.Model, first.Plans));
        Assert.Equal(1, first.Totals[DriftKinds.PlanInvalid]);
        Assert.Equal(1, first.Totals[DriftKinds.ToolForbidden]);
        Assert.Equal(0, first.Totals[DriftKinds.ToolNotOffered]);
        Assert.Equal(0.25, first.Rates[DriftKinds.PlanInvalid]);
        Assert.Equal(0.0, first.Rates[DriftKinds.ApprovalRejected]);
        // 09:30 minus 24 h starts in the 09:00 bucket of the day before: 25 hourly buckets, the last the current hour.
        Assert.Equal(25, first.Buckets.Count);
        Assert.Equal(new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero), first.Buckets[0].Start);
        Assert.Equal(new DateTimeOffset(2026, 12, 2, 9, 0, 0, TimeSpan.Zero), first.Buckets[^1].Start);
        var seven = first.Buckets.Single(b => b.Start.Hour == 7 && b.Start.Day == 2);
        Assert.Equal((2, 1), (seven.Plans, seven.Counts[DriftKinds.PlanInvalid]));
        Assert.Equal((2, 1), (first.Buckets[^1].Plans, first.Buckets[^1].Counts[DriftKinds.ToolForbidden]));
        Assert.Equal(4, first.Buckets.Sum(b => b.Plans));
        // Newest first, plan rounds are not examples.
        Assert.Equal([("r2", "p2.fix/gate", "p2.fix"), ("r1", "plan.2", (string?)null)], first.Examples.Select(e => (e.RunId, e.CommandId, e.StepId)));
        var second = report.Planners[1];
        Assert.Equal((1, 1, 1.0), (second.Plans, second.Totals[DriftKinds.ApprovalRejected], second.Rates[DriftKinds.ApprovalRejected]));
    }

    [Fact]
    public void APlannerWithDriftButNoPlanRoundInTheWindow_HasNoRate()
    {
        var report = DriftReport.Build("service-healer", [Event(Playbook, DriftKinds.ApprovalTimeout, Now.AddMinutes(-2), "r9", "s2/approval-timeout", "s2")], Now, "1h", "5m");

        var line = Assert.Single(report.Planners);
        Assert.Equal(("playbook", 0, 1), (line.PlannerKind, line.Plans, line.Totals[DriftKinds.ApprovalTimeout]));
        Assert.Null(line.Rates[DriftKinds.ApprovalTimeout]);
        Assert.Equal(13, line.Buckets.Count);
    }

    [Fact]
    public void TheReport_KeepsTheTenNewestExamples()
    {
        var events = Enumerable.Range(1, 15).Select(i => Event(Prompt1, DriftKinds.ToolNotOffered, Now.AddMinutes(-i), $"r{i:00}", "plan")).ToList();

        var examples = Assert.Single(DriftReport.Build("task", events, Now, "1h", "5m").Planners).Examples;

        Assert.Equal(Enumerable.Range(1, DriftReport.MaxExamples).Select(i => $"r{i:00}"), examples.Select(e => e.RunId));
    }

    [Theory]
    [InlineData("1h", "1m", null)]
    [InlineData("24h", "5m", null)]
    [InlineData("24h", "1m", "makes 1440 buckets")]
    [InlineData("7d", "15m", null)]
    [InlineData("7d", "5m", "makes 2016 buckets")]
    [InlineData("30d", "1h", null)]
    [InlineData("1h", "6h", "longer than the window")]
    public void Windows_AreAnsweredInAtMost720Buckets(string window, string bucket, string? refusal)
    {
        var why = DriftWindows.Refusal(window, bucket);

        if (refusal is null)
        {
            Assert.Null(why);
            Assert.Null(DriftWindows.Refusal(window, DriftWindows.DefaultBucket(window)));
        }
        else
        {
            Assert.Contains(refusal, why, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task TheMemoryStore_KeepsTheFirstEventOfAKey_AndListsAnAgentsWindow()
    {
        var store = new InMemoryDriftStore();
        var first = Event(Prompt1, DriftKinds.PlanInvalid, Now, "r1", "plan");

        Assert.True(await store.RecordAsync(first, Ct));
        Assert.False(await store.RecordAsync(first with { At = Now.AddMinutes(1), Reason = "again" }, Ct));
        Assert.True(await store.RecordAsync(first with { Kind = DriftKinds.ToolNotOffered }, Ct));
        Assert.True(await store.RecordAsync(first with { Agent = "other" }, Ct));

        var listed = await store.ListAsync("task", Now.AddMinutes(-1), Now, Ct);
        Assert.Equal(2, listed.Count);
        Assert.All(listed, e => Assert.Equal(Now, e.At));
        Assert.Empty(await store.ListAsync("task", Now.AddSeconds(1), Now.AddHours(1), Ct));
    }
}
