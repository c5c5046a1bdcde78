using Agentic.Core.Agents;
using Agentic.Core.Workflow;
using Ids = Agentic.Core.Workflow.AgentWorkflow.Ids;

namespace Agentic.Core.Tests.Workflow;

/// <summary>
/// Approval notifications: a run admitted under revision 2 asks the notify activity once per wait (the first request and
/// the escalation), goes on waiting whatever it answers, and names the wait that timed out for the conclude activity; a
/// run admitted before (revision 1) issues exactly the commands it always did, so its history replays.
/// </summary>
public sealed class AgentWorkflowNotifyTests
{
    private static readonly Agentic.Core.Runs.RunRequest Current = Fixtures.Request with { Revision = AgentWorkflow.Revision };

    private static RunDriver AwaitingApproval(string? escalateTo = null)
    {
        var run = RunDriver.Start(Current).Perceive(healthy: false).Plan(Fixtures.Remediation).Gate(GateEffect.Permit).Act();
        var decision = Fixtures.Decision(RunDriver.RunId, run.Step, GateEffect.RequireApproval, run.Now) with
        {
            Approval = new ApprovalTerms("operator", 2, TimeSpan.FromMinutes(30), escalateTo),
        };
        return run.Gate(decision);
    }

    [Fact]
    public void AWait_AsksTheNotifyActivityLast_WithWhatAnApproverNeeds()
    {
        var run = AwaitingApproval();

        Assert.Equal(["s2/approval", "s2/approval-timeout", Ids.Deadline, Ids.Notify("s2")], run.CommandIds);
        var call = Assert.IsType<CallActivity>(run.Commands[^1]);
        Assert.Equal(AgentActivities.Notify, call.Name);
        var input = run.Input<NotifyInput>();
        Assert.Equal((NotifyKinds.Requested, "s2", "sample.restart", "operator", 2), (input.Kind, input.StepId, input.Tool, input.Role, input.Quorum));
        Assert.Equal((run.Step.ArgsDigest, run.Step.ApprovalDeadline!.Value, Fixtures.Request.Principal), (input.ArgsDigest, input.Deadline, input.RequestedBy));
        Assert.Equal(run.Step.Decision, input.Decision);
        Assert.Empty(input.Approvers);
    }

    [Fact]
    public void ARunOfRevisionOne_IssuesTheCommandsItAlwaysDid()
    {
        var run = RunDriver.AwaitingApproval();

        Assert.Null(run.State.Request.Revision);
        Assert.Equal(["s2/approval", "s2/approval-timeout", Ids.Deadline], run.CommandIds);
    }

    [Fact]
    public void TheAnswer_IsLogged_NotAskedAgain_AndTheWaitGoesOn()
    {
        var run = AwaitingApproval();

        run.Complete(Ids.Notify("s2"), new NotifyResult([new NotifyDelivery("ops", true, 200, false, null), new NotifyDelivery("pager", false, null, false, "the channel 'pager' answered 503")]));

        Assert.Equal(RunPhase.AwaitingApproval, run.State.Phase);
        Assert.Equal(["s2/approval", "s2/approval-timeout", Ids.Deadline], run.CommandIds);
        Assert.Equal([Ids.Notify("s2")], run.Step.Notices);
        var logged = run.State.Log[^1];
        Assert.Equal(("notified", "s2"), (logged.Kind, logged.StepId));
        Assert.Equal("Approval request for s2 (sample.restart): sent to ops; not sent to pager: the channel 'pager' answered 503.", logged.Message);

        // A duplicate answer changes nothing.
        var before = run.State;
        run.Complete(Ids.Notify("s2"), new NotifyResult([]));
        Assert.Same(before, run.State);
    }

    [Fact]
    public void AFailedNotification_IsLogged_AndTheApproverCanStillDecide()
    {
        var run = AwaitingApproval();

        run.Fail(Ids.Notify("s2"), "ToolException", "The approval notification timed out after 10 s.");
        run.Approve("bob").Approve("erin");

        Assert.Contains(run.State.Log, e => e.Kind == "notified" && e.Message == "Approval request for s2 (sample.restart): could not be sent: ToolException: The approval notification timed out after 10 s.");
        Assert.Equal(RunPhase.Acting, run.State.Phase);
    }

    [Fact]
    public void AnEscalation_IsNotifiedAgain_ToTheNewRole()
    {
        var run = AwaitingApproval(escalateTo: "admin").Complete(Ids.Notify("s2"), new NotifyResult([]));

        run.Fire(Ids.ApprovalTimeout("s2"));

        Assert.Equal(Ids.EscalatedNotify("s2"), run.CommandIds[^1]);
        var input = run.Input<NotifyInput>();
        Assert.Equal((NotifyKinds.Escalated, "admin"), (input.Kind, input.Role));
        run.Complete(Ids.EscalatedNotify("s2"), new NotifyResult([]));
        Assert.Equal([Ids.Notify("s2"), Ids.EscalatedNotify("s2")], run.Step.Notices);
        Assert.DoesNotContain(run.Commands, c => c is CallActivity);
    }

    [Fact]
    public void AWaitThatTimedOut_IsNamedForTheConcludeActivity_ARejectionIsNot()
    {
        var timedOut = AwaitingApproval().Approve("bob").Fire(Ids.ApprovalTimeout("s2"));
        var rejected = AwaitingApproval().Reject("bob");
        var old = RunDriver.AwaitingApproval().Fire(Ids.ApprovalTimeout("s2"));

        var notice = AgentWorkflow.TimedOutNotice(timedOut.State);
        Assert.Equal(RunPhase.Failed, timedOut.State.Phase);
        Assert.Equal((NotifyKinds.TimedOut, "s2", "operator"), (notice?.Kind, notice?.StepId, notice?.Role));
        Assert.Equal(["bob"], notice!.Approvers);
        Assert.Null(AgentWorkflow.TimedOutNotice(rejected.State));
        Assert.Null(AgentWorkflow.TimedOutNotice(old.State));
    }
}
