using System.Text.Json;
using Agentic.Core.Agents;
using Agentic.Core.Json;
using Agentic.Core.Workflow;
using Agentic.Durable.Tests.Support;

namespace Agentic.Durable.Tests;

/// <summary>A run long enough to start over from its snapshot, with approvals in flight across the boundary.</summary>
/// <remarks>
/// Alone, not beside other tests: each wake-up replays up to 100 events, and the test host's dispatcher takes at most one
/// work item per core, then polls every 500 ms while that many are in flight, so runs of other tests would stretch this
/// one's 200 wake-ups by half a second each.
/// </remarks>
[Collection(nameof(ContinueAsNewTests))]
[CollectionDefinition(nameof(ContinueAsNewTests), DisableParallelization = true)]
public sealed class ContinueAsNewTests(DurableHost host)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task LongRun_ContinuesAsNew_BetweenTwoApprovalsOfAQuorum_AndCompletes()
    {
        // Events applied: perceive 1, plan 2, s1..s48 two each (98), s49 gate 99, bob's approval 100. The orchestrator
        // starts over after 100 events once nothing is in flight: right after bob's approval, with s49 still waiting for
        // a second approver. The quorum must survive the boundary in the snapshot, and carol's approval, raised after
        // it, must reach the new generation.
        const int Steps = 50;
        var script = new RunScript
        {
            Plan = _ => Answers.Plan(expectHealthy: false, Answers.Probes(Steps)),
            Gate = g => g.StepId == "s49" ? Answers.RequireApproval(g, new(Answers.Operator, Quorum: 2)) : Answers.Permit(g),
        };
        var runId = await host.StartAsync(Answers.Request(), script);
        var runs = host.Runs();

        await host.AwaitingApprovalAsync(runId, "s49");
        Assert.Equal(ApprovalRefusal.None, (await runs.DecideAsync(runId, "s49", approve: true, "one", "bob", [Answers.Operator], Ct)).Refusal);
        await host.AwaitingApprovalAsync(runId, "s49", p => p.ApprovedBy is ["bob"]);
        // Bob's answer delivered again after the boundary is still recognised as his, and counts once.
        Assert.Equal(ApprovalRefusal.None, (await runs.DecideAsync(runId, "s49", approve: true, "one", "bob", [Answers.Operator], Ct)).Refusal);
        Assert.Equal(ApprovalRefusal.None, (await runs.DecideAsync(runId, "s49", approve: true, "two", "carol", [Answers.Operator], Ct)).Refusal);

        var run = await host.EndedAsync(runId);
        RunChecks.Ended(run, "completed");
        Assert.Equal("done", run.View.Output?.Outcome);
        Assert.Equal(Steps, run.View.Output?.StepsSucceeded);
        RunChecks.Steps(run, [.. Enumerable.Range(1, Steps).Select(i => $"s{i}:Succeeded")]);
        // Every step acted exactly once, in order, across both generations.
        Assert.Equal(Enumerable.Range(1, Steps).Select(i => $"s{i}"), script.ActedSteps);
        Assert.Equal(
            ["sample.diagnostics approved by bob (1 of 2): one", "sample.diagnostics approved by carol (2 of 2): two"],
            run.View.Log.Where(e => e.Kind == "approved").Select(e => e.Message));
        Assert.Equal("carol", script.CallsOf(AgentActivities.Act).Single(c => c.CommandId == "s49/act").InputAs<ActInput>().Approval?.Approver);

        // The engine holds the snapshot the run continued from: waiting on s49 with bob's approval counted.
        var instance = await host.Engine.Client.GetInstanceAsync(runId, getInputsAndOutputs: true, Ct);
        var input = JsonSerializer.Deserialize<AgentRunInput>(instance!.SerializedInput!, AgenticJson.Options);
        Assert.Equal(1, input?.Generation);
        Assert.Null(input?.Request);
        var snapshot = input?.Snapshot;
        Assert.Equal(RunPhase.AwaitingApproval, snapshot?.Phase);
        Assert.Equal("s49", snapshot?.Steps[snapshot.Current].StepId);
        Assert.Equal(["bob"], snapshot?.Steps[snapshot.Current].Approvals.Select(a => a.Approver));

        var commands = RunChecks.ReplayedIdentically(host, runId);
        var episodes = host.Recorder.Episodes(runId);
        Assert.Equal([0, 1], episodes.Select(e => e.Generation).Distinct());
        Assert.Equal("continue-as-new preserve=True", episodes.Where(e => e.Generation == 0).MaxBy(e => e.Commands.Count)!.Commands[^1]);
        // The second generation starts by waiting again for what the first was waiting for.
        Assert.Equal(["wait terminate", "wait approval:s49"], commands.SkipWhile(c => !c.StartsWith("continue-as-new", StringComparison.Ordinal)).Skip(1).Take(2));
        Assert.Single(commands, c => c.StartsWith("activity Act ", StringComparison.Ordinal) && c.Contains("\"commandId\":\"s49/act\"", StringComparison.Ordinal));
    }

    // WARNING for whoever upgrades Microsoft.DurableTask.InProcessTestHost: un-skip this test then. An external event the
    // orchestrator was not waiting for yet sits in the SDK's buffer; at ContinueAsNew the SDK sends it to the instance
    // again (the orchestrator relies on that: "unread external events are carried over"), and the next generation
    // receives it. 0.2.3-preview.1, the only version the feed serves (built from durabletask-dotnet 28d93770), drops
    // those self-sent events when it continues as new; upstream fixed that in 9842ef51 (#708). On that version the run
    // below waits for s50's approval forever; it checks the orchestrator's promise only on a host that delivers them.
    [Fact(Skip = "InProcessTestHost 0.2.3-preview.1 drops events the SDK carries over at ContinueAsNew (fixed upstream in durabletask-dotnet 9842ef51).")]
    public async Task LongRun_ContinuesAsNew_CarryingAnApprovalRaisedBeforeItsStepWasReached()
    {
        // Events applied: perceive 1, plan 2, s1 gate 3, approval 4, act 5, s2..s48 two each (99), s49 gate 100: the run
        // continues as new while s49 awaits approval, with s50's approval, raised earlier, unread.
        const int Steps = 50;
        string[] approvalSteps = ["s1", "s49", "s50"];
        var script = new RunScript
        {
            Plan = _ => Answers.Plan(expectHealthy: false, Answers.Probes(Steps)),
            Gate = g => approvalSteps.Contains(g.StepId) ? Answers.RequireApproval(g, new(Answers.Operator)) : Answers.Permit(g),
        };
        var runId = await host.StartAsync(Answers.Request(), script);
        var runs = host.Runs();

        await host.AwaitingApprovalAsync(runId, "s1");
        var s50 = AgenticJson.Digest(AgenticJson.ToElement(new { probe = Steps }));
        await host.Engine.Client.RaiseEventAsync(runId, AgentWorkflow.Ids.ApprovalEvent("s50"),
            AgenticJson.ToElement(new ApprovalDecision("approve", "carol", [Answers.Operator], s50, "approved ahead", Answers.T0)), Ct);
        Assert.Equal(ApprovalRefusal.None, (await runs.DecideAsync(runId, "s1", approve: true, null, "bob", [Answers.Operator], Ct)).Refusal);
        await host.AwaitingApprovalAsync(runId, "s49");
        Assert.Equal(ApprovalRefusal.None, (await runs.DecideAsync(runId, "s49", approve: true, null, "bob", [Answers.Operator], Ct)).Refusal);

        var run = await host.EndedAsync(runId);
        RunChecks.Ended(run, "completed");
        Assert.Equal(Enumerable.Range(1, Steps).Select(i => $"s{i}"), script.ActedSteps);
        Assert.Equal("carol", run.View.Steps[Steps - 1].Approval?.Approver);
        Assert.Equal([0, 1], host.Recorder.Episodes(runId).Select(e => e.Generation).Distinct());
        RunChecks.ReplayedIdentically(host, runId);
    }
}
