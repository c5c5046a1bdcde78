using Agentic.Core.Agents;
using Agentic.Core.Policy.Language;
using Agentic.Core.Policy.Lifecycle;
using Agentic.Core.Tools;
using static Agentic.Core.Tests.Policy.Lifecycle.LifecycleFixtures;

namespace Agentic.Core.Tests.Policy.Lifecycle;

/// <summary>What-if: recorded decisions evaluated again with a candidate policy.</summary>
public sealed class DecisionSimulatorTests
{
    private static readonly CompiledPolicy Candidate = PolicyLoader.Load(Yaml("candidate", "7", forbidden: "sample.diagnostics"), "candidate.yaml");

    [Fact]
    public void Simulate_CandidateForbiddingATool_ListsExactlyTheDecisionsOfThatTool()
    {
        GateDecision[] recorded =
        [
            Decision("run-1", "s1", "sample.diagnostics", GateEffect.Permit, "permit-read-only"),
            Decision("run-1", "s2", "sample.health", GateEffect.Permit, "permit-read-only"),
            Decision("run-2", "s1", "sample.diagnostics", GateEffect.Permit, "permit-read-only"),
        ];

        var report = DecisionSimulator.Simulate(recorded, Candidate);

        Assert.Equal((3, 2, 0), (report.Evaluated, report.Changed, report.Skipped));
        Assert.All(report.Changes, c => Assert.Equal(("sample.diagnostics", GateEffect.Permit, "permit-read-only", "baseline@3", GateEffect.Forbid, "no-sample-diagnostics"),
            (c.Tool, c.OldEffect, c.OldRule, c.OldPolicy, c.NewEffect, c.NewRule)));
        Assert.Equal(["run-1", "run-2"], report.Changes.Select(c => c.RunId).Order());
        Assert.Equal("3 decisions re-evaluated, 2 would change, 0 not re-evaluable", report.Summary);
    }

    [Fact]
    public void Simulate_SameEffectByAnotherRule_IsAChange()
    {
        var recorded = Decision("run-1", "s2", "sample.restart", GateEffect.RequireApproval, "approve-restarts", RiskLevel.High, SideEffect.Reversible);

        var change = Assert.Single(DecisionSimulator.Simulate([recorded], Candidate).Changes);

        Assert.Equal((GateEffect.RequireApproval, "approve-high-risk"), (change.NewEffect, change.NewRule));
    }

    [Fact]
    public void Simulate_DecisionsWithoutRequest_AreCountedAsNotReEvaluable()
    {
        GateDecision[] recorded =
        [
            Decision("run-1", "s1", "sample.restart", GateEffect.Forbid, "kill-switch:global", withRequest: false),
            Decision("run-1", "s2", "sample.health", GateEffect.Permit, "permit-read-only"),
            Decision("run-1", "s3", "sample.health", GateEffect.Permit, "permit-read-only", hour: 31),
        ];

        var report = DecisionSimulator.Simulate(recorded, Candidate);

        Assert.Equal((1, 0, 2), (report.Evaluated, report.Changed, report.Skipped));
        Assert.Empty(report.Changes);
    }

    [Fact]
    public void Simulate_AppliesTheRecordedAutonomy_ToTheCandidatesAnswer()
    {
        // The gate turned the policy's permit into an approval because the run was at 'suggest'; the candidate's permit
        // goes through the same rule, so nothing changes. At 'observe' the same permit would be a forbid.
        var suggested = Decision("run-1", "s1", "sample.health", GateEffect.RequireApproval, "autonomy:suggest");
        suggested = suggested with { Request = suggested.Request! with { Autonomy = "suggest" } };
        var observed = suggested with { StepId = "s2", Request = suggested.Request! with { Autonomy = "observe" } };

        var report = DecisionSimulator.Simulate([suggested, observed], Candidate);

        var change = Assert.Single(report.Changes);
        Assert.Equal(("s2", GateEffect.Forbid, "autonomy:observe"), (change.StepId, change.NewEffect, change.NewRule));
    }

    [Fact]
    public void Simulate_RequestArguments_ReachTheCandidatesConditions()
    {
        var candidate = PolicyLoader.Load("""
            id: by-target
            version: "1"
            rules:
              - id: no-checkout
                effect: forbid
                when: args.target == 'checkout' && 'operator' in principal.roles && context.environment == 'prod'
              - id: permit-read-only
                effect: permit
                when: tool.sideEffect == 'read-only'
            """, "c.yaml");

        var report = DecisionSimulator.Simulate([Decision("run-1", "s1", "sample.health", GateEffect.Permit, "permit-read-only")], candidate);

        Assert.Equal("no-checkout", Assert.Single(report.Changes).NewRule);
    }

    [Fact]
    public async Task SimulateAsync_GivesTheSameReportAsSimulate()
    {
        GateDecision[] recorded = [Decision("run-1", "s1", "sample.diagnostics", GateEffect.Permit, "permit-read-only"), Decision("run-1", "s2", "x", GateEffect.Forbid, "r", withRequest: false)];

        var report = await DecisionSimulator.SimulateAsync(recorded.ToAsyncEnumerable(), Candidate, TestContext.Current.CancellationToken);

        Assert.Equal(DecisionSimulator.Simulate(recorded, Candidate).Summary, report.Summary);
        Assert.Equal((1, 1, 1), (report.Evaluated, report.Changed, report.Skipped));
    }

    [Fact]
    public void Format_ListsEachChangeOnItsOwnLineThenTheSummary()
    {
        var report = DecisionSimulator.Simulate([Decision("run-42", "s1", "sample.diagnostics", GateEffect.Permit, "permit-read-only")], Candidate);

        var lines = report.Format().TrimEnd().Split('\n');

        Assert.StartsWith("Candidate candidate@7 (sha256:", lines[0], StringComparison.Ordinal);
        Assert.Contains("RUN", lines[1], StringComparison.Ordinal);
        Assert.Contains("run-42", lines[2], StringComparison.Ordinal);
        Assert.Contains("permit by baseline@3/permit-read-only", lines[2], StringComparison.Ordinal);
        Assert.Contains("forbid by no-sample-diagnostics", lines[2], StringComparison.Ordinal);
        Assert.Equal("1 decisions re-evaluated, 1 would change, 0 not re-evaluable", lines[^1]);
    }
}
