using Agentic.Core.Workflow;

namespace Agentic.Core.Tests.Workflow;

internal static class RunAssert
{
    /// <summary>The run ended Failed for exactly <paramref name="reason"/>: recorded, logged last, and decided as the only command.</summary>
    public static void Failed(RunDriver run, string reason)
    {
        Assert.Equal(RunPhase.Failed, run.State.Phase);
        Assert.True(run.IsTerminal);
        Assert.Equal(reason, run.State.FailureReason);
        Assert.Equal(run.Now, run.State.UpdatedAt);
        Assert.Null(run.State.Output);
        Assert.Equal(new FailRun("fail", reason), Assert.Single(run.Commands));
        var entry = run.State.Log[^1];
        Assert.Equal("failed", entry.Kind);
        Assert.Equal(reason, entry.Message);
    }
}
