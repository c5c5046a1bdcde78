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
}
