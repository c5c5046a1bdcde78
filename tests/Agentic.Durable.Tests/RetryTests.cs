using Agentic.Core.Activities;
using Agentic.Core.Agents;
using Agentic.Durable.Tests.Support;

namespace Agentic.Durable.Tests;

/// <summary>The decider's retry options on the engine: transient failures retried with back-off, the rest not.</summary>
public sealed class RetryTests(DurableHost host)
{
    private static RunScript OneStep(Func<ActInput, int, ActResult> act) => new()
    {
        Plan = _ => Answers.Plan(expectHealthy: false, Answers.Step("s1", "sample.restart", new { reason = "degraded" })),
        Act = act,
    };

    [Fact]
    public async Task Act_FailingTransientlyTwice_IsRetried_AndTheRunCompletes()
    {
        var script = OneStep((input, attempt) => attempt < 3 ? throw new InvalidOperationException($"Service answered 503 (attempt {attempt}).") : Answers.Done(input));
        var runId = await host.StartAsync(Answers.Request(), script);

        var run = await host.EndedAsync(runId);
        RunChecks.Ended(run, "completed");
        RunChecks.Steps(run, "s1:Succeeded");
        var attempts = script.CallsOf(AgentActivities.Act);
        Assert.Equal([1, 2, 3], attempts.Select(a => a.Attempt));
        Assert.Equal([true, true, false], attempts.Select(a => a.Error is not null));
        // Retries happen inside one activity call: the run counts one tool call.
        Assert.Equal(1, run.View.ToolCalls);
        RunChecks.ReplayedIdentically(host, runId);
    }

    [Fact]
    public async Task Act_FailingEveryAttempt_FailsTheRun_NamingTheLastError()
    {
        var script = OneStep((_, attempt) => throw new InvalidOperationException($"Service answered 503 (attempt {attempt})."));
        var runId = await host.StartAsync(Answers.Request(), script);

        var run = await host.EndedAsync(runId);
        RunChecks.Ended(run, "failed");
        var attempts = DurableHost.Options.ActRetry.MaxAttempts;
        var error = $"System.InvalidOperationException: Service answered 503 (attempt {attempts}). (after {attempts} attempts)";
        Assert.Equal($"Step s1 (sample.restart) failed: {error}", run.View.FailureReason);
        RunChecks.Steps(run, "s1:Failed");
        Assert.Equal(error, run.View.Steps[0].Error);
        Assert.Equal(attempts, script.CallsOf(AgentActivities.Act).Count);
        RunChecks.ReplayedIdentically(host, runId);
    }

    [Fact]
    public async Task Act_ThrowingNonRetryable_FailsTheRunAtOnce_AfterOneAttempt()
    {
        var script = OneStep((_, _) => throw new NonRetryableException("The tool refused the call: 400 Bad Request."));
        var runId = await host.StartAsync(Answers.Request(), script);

        var run = await host.EndedAsync(runId);
        RunChecks.Ended(run, "failed");
        Assert.Equal("Step s1 (sample.restart) failed: Agentic.Core.Activities.NonRetryableException: The tool refused the call: 400 Bad Request.", run.View.FailureReason);
        RunChecks.Steps(run, "s1:Failed");
        // The run has ended, so no later attempt can come: one is all there was.
        Assert.Single(script.CallsOf(AgentActivities.Act));
        RunChecks.ReplayedIdentically(host, runId);
    }
}
