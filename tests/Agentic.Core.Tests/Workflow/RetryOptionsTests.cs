using Agentic.Core.Workflow;

namespace Agentic.Core.Tests.Workflow;

public sealed class RetryOptionsTests
{
    private static readonly RetryOptions Backoff = new(6, TimeSpan.FromSeconds(1), 2, TimeSpan.FromSeconds(10));

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 4)]
    [InlineData(4, 8)]
    public void DelayAfter_GrowsByTheBackoffCoefficient(int failedAttempt, int seconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(seconds), Backoff.DelayAfter(failedAttempt));
    }

    [Theory]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(1000)]
    public void DelayAfter_IsCappedAtMaxInterval(int failedAttempt)
    {
        Assert.Equal(TimeSpan.FromSeconds(10), Backoff.DelayAfter(failedAttempt));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    public void DelayAfter_BeforeAnyFailure_IsTheFirstInterval(int failedAttempt)
    {
        Assert.Equal(TimeSpan.FromSeconds(1), Backoff.DelayAfter(failedAttempt));
    }

    [Fact]
    public void DelayAfter_FractionalCoefficient_KeepsSubSecondPrecision()
    {
        var retry = new RetryOptions(4, TimeSpan.FromMilliseconds(500), 1.5, TimeSpan.FromMinutes(1));

        Assert.Equal(TimeSpan.FromMilliseconds(750), retry.DelayAfter(2));
        Assert.Equal(TimeSpan.FromMilliseconds(1125), retry.DelayAfter(3));
    }

    [Fact]
    public void None_IsOneAttemptWithoutDelay()
    {
        Assert.Equal(1, RetryOptions.None.MaxAttempts);
        Assert.Equal(TimeSpan.Zero, RetryOptions.None.DelayAfter(1));
    }

    [Fact]
    public void WorkflowDefaults_RetryReadsAndActsThreeTimesWithCappedBackoff()
    {
        var options = new AgentWorkflowOptions();
        var expected = new RetryOptions(3, TimeSpan.FromSeconds(1), 2, TimeSpan.FromSeconds(10));

        Assert.Equal(expected, options.ReadRetry);
        Assert.Equal(expected, options.ActRetry);
        Assert.Equal(50, options.MaxSteps);
    }
}
