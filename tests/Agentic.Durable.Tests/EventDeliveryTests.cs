using Agentic.Core.Agents;
using Agentic.Core.Json;
using Agentic.Core.Workflow;
using Agentic.Durable.Tests.Support;

namespace Agentic.Durable.Tests;

/// <summary>Approval events as the engine may deliver them: malformed, for other arguments, and more than once.</summary>
public sealed class EventDeliveryTests(DurableHost host)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task MalformedAndRepeatedApprovals_AreIgnored_AndEachStepActsOnce()
    {
        var script = new RunScript
        {
            Plan = _ => Answers.Plan(expectHealthy: false, Answers.Step("s1", "sample.restart", new { reason = "degraded" }), Answers.Step("s2", "sample.restart", new { reason = "still degraded" })),
            Gate = g => Answers.RequireApproval(g, new(Answers.Operator)),
        };
        var runId = await host.StartAsync(Answers.Request(), script);
        var digest = (await host.AwaitingApprovalAsync(runId, "s1")).View.PendingApproval!.ArgsDigest;

        // Raised on the engine directly, past the client's checks: each is noted and the wait goes on.
        await RaiseAsync(runId, "s1", AgenticJson.ToElement("yes"));
        await RaiseAsync(runId, "s1", AgenticJson.ToElement(new ApprovalDecision("maybe", "bob", [Answers.Operator], digest, null, Answers.T0)));
        await RaiseAsync(runId, "s1", AgenticJson.ToElement(new ApprovalDecision("approve", "bob", [Answers.Operator], "sha256:other-arguments", null, Answers.T0)));
        var noted = await host.WaitForAsync(runId, r => r.View.Log.Count(e => e.Kind == "approval-refused") == 3, "three refused approvals");
        Assert.Equal("AwaitingApproval", noted.View.Phase);
        Assert.Empty(script.ActedSteps);

        var answer = await host.Runs().DecideAsync(runId, "s1", approve: true, "ok", "bob", [Answers.Operator], Ct);
        Assert.Equal(ApprovalRefusal.None, answer.Refusal);
        // The same approval delivered again (a redelivery, a client retry) after the step has moved on.
        await RaiseAsync(runId, "s1", AgenticJson.ToElement(answer.Approval));
        await RaiseAsync(runId, "s1", AgenticJson.ToElement(answer.Approval));

        await host.AwaitingApprovalAsync(runId, "s2");
        Assert.Equal(ApprovalRefusal.None, (await host.Runs().DecideAsync(runId, "s2", approve: true, "ok", "bob", [Answers.Operator], Ct)).Refusal);

        var run = await host.EndedAsync(runId);
        RunChecks.Ended(run, "completed");
        RunChecks.Steps(run, "s1:Succeeded", "s2:Succeeded");
        Assert.Equal(["s1", "s2"], script.ActedSteps);
        Assert.Equal(["s1", "s2"], run.View.Log.Where(e => e.Kind == "approved").Select(e => e.StepId));
        var refused = run.View.Log.Where(e => e.Kind == "approval-refused").Select(e => e.Message).ToList();
        Assert.Equal(3, refused.Count);
        Assert.StartsWith("Ignored a malformed approval", refused[0], StringComparison.Ordinal);
        Assert.Equal("Ignored an approval with decision 'maybe'.", refused[1]);
        Assert.StartsWith("Ignored an approval by bob: it was given for arguments sha256:other-ar", refused[2], StringComparison.Ordinal);
        RunChecks.ReplayedIdentically(host, runId);
    }

    private Task RaiseAsync(string runId, string stepId, System.Text.Json.JsonElement payload) =>
        host.Engine.Client.RaiseEventAsync(runId, AgentWorkflow.Ids.ApprovalEvent(stepId), payload, Ct);
}
