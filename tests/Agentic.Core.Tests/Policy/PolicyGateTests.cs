using Agentic.Core.Agents;
using Agentic.Core.Json;
using Agentic.Core.Policy;
using Agentic.Core.Policy.Language;
using Agentic.Core.Tools;

namespace Agentic.Core.Tests.Policy;

/// <summary>The policy part of the gate: autonomy levels, approval terms, shadow decisions and replayable snapshots.</summary>
public sealed class PolicyGateTests
{
    private static readonly CompiledPolicy PermitAll = PolicyLoader.Load("""
        id: open
        version: "7"
        rules:
          - id: no-drop
            effect: forbid
            when: args.reason matches '*drop*'
          - id: all
            effect: permit
        """, "open.yaml");

    private static readonly CompiledPolicy Shadow = PolicyLoader.Load("""
        id: candidate
        version: "8"
        mode: shadow
        rules:
          - id: reads-only
            effect: permit
            when: tool.sideEffect == 'read-only'
        """, "candidate.yaml");

    private static ToolDescriptor Tool(RiskLevel risk, SideEffect effect = SideEffect.Reversible) =>
        new("t.tool", "1.0.0", "A tool.", risk, effect, Idempotent: true, TimeSpan.FromSeconds(5), 1024) { Tags = ["x"], Cost = 2.5 };

    private static GateInput Input(string autonomy, string arguments = "{}") =>
        new("run-1", "s1", "alice", "agent-a", "prod", "t.tool", TestJson.Parse(arguments), AgenticJson.Digest(TestJson.Parse(arguments)), 3)
        {
            Autonomy = autonomy,
            PrincipalRoles = ["dev"],
            Target = "http://svc",
            BudgetUsed = 4,
        };

    private static GateDecision Decide(string autonomy, ToolDescriptor tool, string arguments = "{}", CompiledPolicy? policy = null) =>
        PolicyGate.Decide(new ActivePolicies(policy ?? PermitAll), Input(autonomy, arguments), tool, new DateTimeOffset(2026, 1, 1, 13, 0, 0, TimeSpan.Zero));

    [Theory]
    [InlineData("observe", RiskLevel.Low, GateEffect.Forbid, "autonomy:observe")]
    [InlineData("suggest", RiskLevel.Low, GateEffect.RequireApproval, "autonomy:suggest")]
    [InlineData("supervised", RiskLevel.Low, GateEffect.Permit, "all")]
    [InlineData("supervised", RiskLevel.High, GateEffect.RequireApproval, "autonomy:supervised")]
    [InlineData("supervised", RiskLevel.Critical, GateEffect.RequireApproval, "autonomy:supervised")]
    [InlineData("autonomous", RiskLevel.Critical, GateEffect.Permit, "all")]
    [InlineData("reckless", RiskLevel.Low, GateEffect.Forbid, "autonomy:unknown")]
    public void Autonomy_TightensThePolicysPermit(string autonomy, RiskLevel risk, GateEffect effect, string rule)
    {
        var decision = Decide(autonomy, Tool(risk));

        Assert.Equal((effect, rule), (decision.Effect, decision.Rule));
        Assert.Equal(autonomy, decision.Autonomy);
        if (effect == GateEffect.RequireApproval)
        {
            Assert.Equal("operator", decision.ApproverRole);
            Assert.Equal(new ApprovalTerms("operator"), decision.Approval);
        }
    }

    [Fact]
    public void Supervised_LeavesAHighRiskReadAlone()
    {
        Assert.Equal(GateEffect.Permit, Decide("supervised", Tool(RiskLevel.Critical, SideEffect.ReadOnly)).Effect);
    }

    [Theory]
    [InlineData("autonomous")]
    [InlineData("suggest")]
    public void NoAutonomyLevel_WeakensAForbid(string autonomy)
    {
        var decision = Decide(autonomy, Tool(RiskLevel.Low), """{"reason":"drop it all"}""");

        Assert.Equal((GateEffect.Forbid, "no-drop"), (decision.Effect, decision.Rule));
    }

    [Fact]
    public void Suggest_NamesThePermittingRuleInItsReason()
    {
        Assert.Equal("The agent runs at autonomy 'suggest': every action needs approval (policy rule 'all' permits it).", Decide("suggest", Tool(RiskLevel.Low)).Reason);
    }

    [Fact]
    public void ThePolicysApprovalTerms_ReachTheDecision_WithTheEscalationRole()
    {
        var policy = PolicyLoader.Load("""
            id: approvals
            version: "1"
            rules:
              - id: two-of-three
                effect: require_approval
                approval: { role: operator, quorum: 2 of 3, timeout: 45m, onTimeout: "escalate:admin" }
            """, "approvals.yaml");

        var decision = Decide("autonomous", Tool(RiskLevel.Low), policy: policy);

        Assert.Equal(new ApprovalTerms("operator", 2, TimeSpan.FromMinutes(45), "admin"), decision.Approval);
        Assert.Equal("operator", decision.ApproverRole);
    }

    [Fact]
    public void TheShadowPolicy_IsRecorded_AndNeverEnforced()
    {
        var decision = PolicyGate.Decide(new ActivePolicies(PermitAll, Shadow), Input("autonomous"), Tool(RiskLevel.Low), DateTimeOffset.UnixEpoch);

        Assert.Equal((GateEffect.Permit, "open", "7"), (decision.Effect, decision.PolicyId, decision.PolicyVersion));
        Assert.Equal(new ShadowDecision(GateEffect.Forbid, "candidate", "8", Shadow.ContentHash, "default-deny", Shadow.DefaultDeny.Reason), decision.Shadow);
    }

    [Fact]
    public void TheDecision_CarriesASnapshotThatRebuildsTheSameRequest()
    {
        var decision = Decide("supervised", Tool(RiskLevel.Medium), """{"reason":"scale","n":3}""");

        var snapshot = decision.Request!;
        Assert.Equal(("alice", "dev", "agent-a", "supervised"), (snapshot.Principal, Assert.Single(snapshot.Roles), snapshot.Agent, snapshot.Autonomy));
        Assert.Equal(("t.tool", RiskLevel.Medium, SideEffect.Reversible, "x"), (snapshot.Tool, snapshot.Risk, snapshot.SideEffect, Assert.Single(snapshot.Tags)));
        Assert.Equal(("http://svc", "prod", 13, 4.0, 3), (snapshot.Target, snapshot.Environment, snapshot.Hour, snapshot.BudgetUsed, snapshot.StepsTaken));
        Assert.Equal(2.5, decision.Cost);
        Assert.Equal(Tool(RiskLevel.Medium).Hash, decision.ToolHash);

        // The snapshot survives the decision record's JSON and evaluates the same.
        var stored = AgenticJson.FromElement<GateDecision>(AgenticJson.ToElement(decision)).Request!;
        var rebuilt = PolicyGate.Rebuild(stored);
        Assert.Equal("all", PermitAll.Evaluate(in rebuilt).Rule);
        var smuggled = PolicyGate.Rebuild(stored with { Arguments = TestJson.Parse("""{"reason":"drop"}""") });
        Assert.Equal("no-drop", PermitAll.Evaluate(in smuggled).Rule);
    }

    private static ToolDescriptor Named(string name, RiskLevel risk, SideEffect effect, params string[] tags) =>
        new(name, "1.0.0", "A tool.", risk, effect, Idempotent: true, TimeSpan.FromSeconds(5), 1024) { Tags = tags };

    private static readonly ToolDescriptor[] Catalog =
    [
        Named("sample.health", RiskLevel.Low, SideEffect.ReadOnly),
        Named("sample.scale", RiskLevel.Medium, SideEffect.Reversible),
        Named("sample.restart", RiskLevel.High, SideEffect.Reversible),
        Named("sample.purge", RiskLevel.Critical, SideEffect.Irreversible),
        Named("notify.webhook", RiskLevel.Low, SideEffect.Irreversible, "notification"),
        Named("http.request", RiskLevel.Medium, SideEffect.Irreversible),
        Named("sample.rename", RiskLevel.Low, SideEffect.Reversible),
    ];

    [Fact]
    public void Offer_UnderTheBaselineInProd_LeavesOutOnlyWhatNoArgumentsCouldGetPast()
    {
        var offers = PolicyGate.Offer(new ActivePolicies(ShippedPolicies.Baseline), new OfferContext("alice", ["requester"], "service-healer", "supervised", "prod", "http://svc"), Catalog);

        var offered = offers.Where(o => o.Offered).Select(o => o.Tool).ToList();
        Assert.Equal(["sample.health", "sample.scale", "sample.restart", "notify.webhook", "http.request"], offered);
        Assert.Equal("forbid-irreversible-in-prod", offers.Single(o => o.Tool == "sample.purge").Rule);
        Assert.Equal(PolicyDecision.DefaultDenyRule, offers.Single(o => o.Tool == "sample.rename").Rule);
    }

    [Fact]
    public void Offer_InDev_KeepsTheIrreversibleToolThatProdForbids_ForApproval()
    {
        var offers = PolicyGate.Offer(new ActivePolicies(ShippedPolicies.Baseline), new OfferContext("alice", ["requester"], "service-healer", "supervised", "dev", "http://svc"), Catalog);

        Assert.True(offers.Single(o => o.Tool == "sample.purge").Offered);
    }

    [Theory]
    [InlineData("observe", "autonomy:observe")]
    [InlineData("reckless", "autonomy:unknown")]
    public void Offer_AtAnAutonomyThatNeverActs_OffersNothing(string autonomy, string rule)
    {
        var offers = PolicyGate.Offer(new ActivePolicies(PermitAll), new OfferContext("alice", [], "agent-a", autonomy, "dev", "http://svc"), Catalog);

        Assert.All(offers, o => Assert.Equal((false, rule), (o.Offered, o.Rule)));
    }

    private static GateDecision DecideTainted(ToolDescriptor tool, bool tainted, CompiledPolicy? policy = null, string autonomy = "autonomous") =>
        PolicyGate.Decide(new ActivePolicies(policy ?? PermitAll), Input(autonomy) with { Tainted = tainted, TaintSources = tainted ? ["signal:health"] : null },
            tool, new DateTimeOffset(2026, 1, 1, 13, 0, 0, TimeSpan.Zero));

    [Fact]
    public void TaintedChange_ThePolicyPermits_NeedsAnOperator_EvenAutonomous()
    {
        var decision = DecideTainted(Tool(RiskLevel.Low), tainted: true);

        Assert.Equal((GateEffect.RequireApproval, PolicyGate.TaintRule, "operator"), (decision.Effect, decision.Rule, decision.ApproverRole));
        Assert.Contains("signal:health", decision.Reason, StringComparison.Ordinal);
        Assert.True(decision.Request!.Tainted);
        Assert.Equal(GateEffect.Permit, DecideTainted(Tool(RiskLevel.Low), tainted: false).Effect);
    }

    [Fact]
    public void Taint_NeverWidens_AReadOnlyCallRunsAndAForbidOrDefaultDenyStays()
    {
        Assert.Equal(GateEffect.Permit, DecideTainted(Tool(RiskLevel.Low, SideEffect.ReadOnly), tainted: true).Effect);
        var readsOnly = PolicyLoader.Load("""
            id: reads
            version: "1"
            rules:
              - id: reads
                effect: permit
                when: tool.sideEffect == 'read-only'
            """, "reads.yaml");
        var denied = DecideTainted(Tool(RiskLevel.Low), tainted: true, readsOnly);
        Assert.Equal((GateEffect.Forbid, PolicyDecision.DefaultDenyRule), (denied.Effect, denied.Rule));
    }

    [Fact]
    public void Policies_CanTestTheTaintAndItsSources()
    {
        var policy = PolicyLoader.Load("""
            id: taint-aware
            version: "1"
            rules:
              - id: no-tainted-http
                effect: forbid
                when: context.tainted && tool.name == 't.tool' && 'signal:health' in context.taintSources
              - id: all
                effect: permit
            """, "taint.yaml");

        Assert.Equal("no-tainted-http", DecideTainted(Tool(RiskLevel.Low), tainted: true, policy).Rule);
        Assert.Equal("all", DecideTainted(Tool(RiskLevel.Low), tainted: false, policy).Rule);
        // Known at planning time, the taint decides what is offered.
        var tainted = PolicyGate.Offer(new ActivePolicies(policy), new OfferContext("alice", [], "agent-a", "autonomous", "dev", "http://svc") { Tainted = true, TaintSources = ["signal:health"] }, [Tool(RiskLevel.Low)]);
        Assert.Equal("no-tainted-http", Assert.Single(tainted).Rule);
    }

    private static readonly CompiledPolicy ByAssessment = PolicyLoader.Load("""
        id: assessed
        version: "1"
        rules:
          - id: review-high
            effect: require_approval
            when: assessment.riskBand == 'high'
            approval: { role: reviewer, timeout: 1h, onTimeout: reject }
          - id: record-the-rest
            effect: permit
            when: assessment.riskBand in ['low', 'medium'] && assessment.riskScore < 60
        """, "assessed.yaml");

    private static ToolDescriptor Recorder(RiskLevel risk = RiskLevel.Low, SideEffect effect = SideEffect.Reversible, bool dataEntry = true) =>
        new("t.record", "1.0.0", "Records data.", risk, effect, Idempotent: true, TimeSpan.FromSeconds(5), 1024) { DataEntry = dataEntry };

    private static GateDecision DecideAssessed(ToolDescriptor tool, string assessment, bool tainted = true, string autonomy = "supervised") =>
        PolicyGate.Decide(new ActivePolicies(ByAssessment), Input(autonomy, """{"riskBand":"low"}""") with { Tool = tool.Name, Tainted = tainted, TaintSources = tainted ? ["request.parameters"] : null },
            tool, new DateTimeOffset(2026, 1, 1, 13, 0, 0, TimeSpan.Zero), assessment: TestJson.Parse(assessment));

    [Fact]
    public void ThePolicy_DecidesOnTheServicesAssessment_NotOnWhatTheArgumentsClaim()
    {
        var high = DecideAssessed(Recorder(), """{"riskScore":90,"riskBand":"high"}""");
        var low = DecideAssessed(Recorder(), """{"riskScore":10,"riskBand":"low"}""");

        Assert.Equal((GateEffect.RequireApproval, "review-high", "reviewer"), (high.Effect, high.Rule, high.ApproverRole));
        Assert.Equal((GateEffect.Permit, "record-the-rest"), (low.Effect, low.Rule));
        // Without an assessment, assessment.* is missing: no rule matches whatever the arguments say.
        var unassessed = PolicyGate.Decide(new ActivePolicies(ByAssessment), Input("supervised", """{"riskBand":"low"}"""), Recorder(), new DateTimeOffset(2026, 1, 1, 13, 0, 0, TimeSpan.Zero));
        Assert.Equal((GateEffect.Forbid, PolicyDecision.DefaultDenyRule), (unassessed.Effect, unassessed.Rule));
    }

    [Fact]
    public void TheAssessment_IsInTheSnapshot_SoTheDecisionEvaluatesTheSameAgain()
    {
        var decision = DecideAssessed(Recorder(), """{"riskScore":90,"riskBand":"high"}""");

        var stored = AgenticJson.FromElement<GateDecision>(AgenticJson.ToElement(decision)).Request!;
        Assert.Equal("high", stored.Assessment!.Value.GetProperty("riskBand").GetString());
        Assert.True(stored.DataEntry);
        var rebuilt = PolicyGate.Rebuild(stored);
        Assert.Equal("review-high", ByAssessment.Evaluate(in rebuilt).Rule);
        var lowered = PolicyGate.Rebuild(stored with { Assessment = TestJson.Parse("""{"riskScore":10,"riskBand":"low"}""") });
        Assert.Equal("record-the-rest", ByAssessment.Evaluate(in lowered).Rule);
    }

    [Fact]
    public void ADataEntryTool_ThePolicyPermits_IsNotSentForApprovalByTaint_ButStillByThePolicy()
    {
        var permitted = DecideAssessed(Recorder(), """{"riskScore":10,"riskBand":"low"}""", tainted: true);
        var reviewed = DecideAssessed(Recorder(), """{"riskScore":90,"riskBand":"high"}""", tainted: true);

        Assert.Equal((GateEffect.Permit, "record-the-rest"), (permitted.Effect, permitted.Rule));
        Assert.True(permitted.Request!.Tainted);
        Assert.Equal((GateEffect.RequireApproval, "review-high"), (reviewed.Effect, reviewed.Rule));
        // The autonomy still tightens: under suggest every action waits.
        Assert.Equal(GateEffect.RequireApproval, DecideAssessed(Recorder(), """{"riskScore":10,"riskBand":"low"}""", autonomy: "suggest").Effect);
    }

    [Theory]
    [InlineData(RiskLevel.Medium, SideEffect.Reversible, true)]
    [InlineData(RiskLevel.Low, SideEffect.Irreversible, true)]
    [InlineData(RiskLevel.Low, SideEffect.Reversible, false)]
    public void TaintedChange_OfAnyOtherTool_StillNeedsAnOperator(RiskLevel risk, SideEffect effect, bool dataEntry)
    {
        var decision = DecideAssessed(Recorder(risk, effect, dataEntry), """{"riskScore":10,"riskBand":"low"}""", tainted: true, autonomy: "autonomous");

        Assert.Equal((GateEffect.RequireApproval, PolicyGate.TaintRule, "operator"), (decision.Effect, decision.Rule, decision.ApproverRole));
        Assert.Equal(GateEffect.Permit, DecideAssessed(Recorder(risk, effect, dataEntry), """{"riskScore":10,"riskBand":"low"}""", tainted: false, autonomy: "autonomous").Effect);
    }

    [Fact]
    public void Offer_KeepsAnAssessedTool_WhoseRulesReadTheAssessment_SinceItIsUnknownWhenPlanning()
    {
        var offers = PolicyGate.Offer(new ActivePolicies(ByAssessment), new OfferContext("alice", [], "agent-a", "supervised", "dev", "http://svc") { Tainted = true }, [Recorder()]);

        Assert.True(Assert.Single(offers).Offered);
    }
}
