using Agentic.Core.Activities;
using Agentic.Core.Agents;
using Agentic.Durable.Tests.Support;

namespace Agentic.Durable.Tests;

/// <summary>The saga on the engine: a failing plan undoes its succeeded reversible steps, each undo gated like any action.</summary>
public sealed class CompensationTests(DurableHost host)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task LaterStepFailing_UndoesTheSucceededReversibleStep_ThroughItsGateAndApproval()
    {
        var script = new RunScript
        {
            Plan = _ => Answers.Plan(expectHealthy: true, Answers.Step("s1", "sample.scale", new { replicas = 4 }), Answers.Step("s2", "sample.restart", new { reason = "degraded" })),
            // The undo is an action like any other: here the policy wants a human to approve it.
            Gate = g => g.Compensation ? Answers.RequireApproval(g, new(Answers.Operator)) : Answers.Permit(g),
            Act = (input, _) => input.StepId switch
            {
                "s1" => Answers.Reversible(input, "sample.scale", new { replicas = 2 }),
                "s2" => throw new NonRetryableException("The service refused the restart: 409 Conflict."),
                _ => Answers.Done(input),
            },
        };
        var runId = await host.StartAsync(Answers.Request(), script);

        var waiting = await host.AwaitingApprovalAsync(runId, "undo.s1");
        Assert.Equal(["s1", "s2"], script.ActedSteps);
        Assert.Equal("sample.scale", waiting.View.PendingApproval!.Tool);
        var answer = await host.Runs().DecideAsync(runId, "undo.s1", approve: true, "undo it", "bob", [Answers.Operator], Ct);
        Assert.Equal(ApprovalRefusal.None, answer.Refusal);

        var run = await host.EndedAsync(runId);
        RunChecks.Ended(run, "failed");
        Assert.Equal(
            "Step s2 (sample.restart) failed: Agentic.Core.Activities.NonRetryableException: The service refused the restart: 409 Conflict. Compensated: undid 1 step(s) (s1) in reverse order.",
            run.View.FailureReason);
        RunChecks.Steps(run, "s1:Compensated", "s2:Failed", "undo.s1:Succeeded");
        Assert.Equal(["s1", "s2", "undo.s1"], script.GatedSteps);
        Assert.Equal([false, false, true], script.CallsOf(AgentActivities.Gate).Select(c => c.InputAs<GateInput>().Compensation));
        Assert.Equal(["s1", "s2", "undo.s1"], script.ActedSteps);
        var undo = script.CallsOf(AgentActivities.Act)[^1].InputAs<ActInput>();
        Assert.Equal("sample.scale", undo.Tool);
        Assert.Equal(2, undo.Arguments.GetProperty("replicas").GetInt32());
        Assert.Equal("bob", undo.Approval?.Approver);
        Assert.Contains(run.View.Log, e => e.Kind == "compensating");
        Assert.Contains(run.View.Log, e => e.Kind == "compensated" && e.StepId == "undo.s1");
        Assert.DoesNotContain(script.Calls, c => c.CommandId == "verify");
        RunChecks.ReplayedIdentically(host, runId);
    }
}
