using Agentic.Core.Agents;
using Agentic.Core.Json;
using Agentic.Core.Workflow;
using Ids = Agentic.Core.Workflow.AgentWorkflow.Ids;

namespace Agentic.Core.Tests.Workflow;

/// <summary>What the workflow does with perception: the request goes along for request signals, and an observation the run can not use ends it.</summary>
public sealed class AgentWorkflowPerceptionTests
{
    private const string Broken = "Signal 'contract' broke its data contract (schemas/contract.schema.json): $.total: expected number, got string.";

    [Fact]
    public void PerceiveAndVerify_CarryTheRequestsGoalAndParameters_ForRequestSignals()
    {
        var perceive = (CallActivity)RunDriver.Perceiving().Commands.Single(c => c.Id == Ids.Perceive);
        var verify = (CallActivity)RunDriver.Verifying().Commands.Single(c => c.Id == Ids.Verify);

        foreach (var (command, purpose) in new[] { (perceive, "observe"), (verify, "verify") })
        {
            var input = AgenticJson.FromElement<PerceiveInput>(command.Input);
            Assert.Equal((RunDriver.RunId, "service-healer", Fixtures.Target, purpose, Fixtures.Request.Goal), (input.RunId, input.Agent, input.Target, input.Purpose, input.Goal));
            Assert.Equal(Fixtures.Request.Parameters!.Value.GetRawText(), input.Parameters!.Value.GetRawText());
        }
    }

    [Fact]
    public void ObservationTheRunCanNotUse_FailsTheRunWithItsReason_BeforeAnyPlan()
    {
        var run = RunDriver.Perceiving().Complete(Ids.Perceive, Fixtures.Observation(healthy: true, RunDriver.T0) with { Failure = Broken });

        RunAssert.Failed(run, Broken);
        Assert.Null(run.State.Plan);
        Assert.Equal(["started", "perceived", "failed"], run.State.Log.Select(e => e.Kind));
    }

    [Fact]
    public void VerificationTheRunCanNotUse_FailsThePlanWithItsReason_EvenWhenHealthy()
    {
        var run = RunDriver.Verifying().Complete(Ids.Verify, Fixtures.Observation(healthy: true, RunDriver.T0) with { Failure = Broken });

        RunAssert.Failed(run, Broken);
        Assert.Null(run.State.Output);
        Assert.Equal(Broken, run.State.Verification!.Failure);
    }
}
