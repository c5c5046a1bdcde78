using Agentic.Core.Workflow;
using Agentic.Durable;
using Agentic.Runtime.Tests.Infrastructure;
using Agentic.Testing;

namespace Agentic.Runtime.Tests;

/// <summary>
/// Transient tool failures: the act activity is retried (default ActRetry: 3 attempts, 1 s then 2 s apart)
/// through the idempotency ledger, so a retry that succeeds applies the side effect once.
/// The fleet's fail-next counter is global, so these tests share a fleet only with each other (one class).
/// </summary>
public sealed class ActRetryTests(AzuriteFixture azurite, FleetFixture fleet) : RuntimeTest(azurite, fleet), IClassFixture<FleetFixture>
{
    [Fact]
    public async Task Act_TransientToolFailure_IsRetriedAndAppliedOnce()
    {
        var runtime = await StartRuntimeAsync();
        var runId = await SubmitHealerAwaitingApprovalAsync(runtime);
        await Fleet.FailNextAsync(1);

        await DecideAsync(runtime, runId);

        var run = await runtime.WaitTerminalAsync(runId);
        AssertCompleted(run, "remediated");
        await AssertAppliedOnceAsync(runId, "s2", "restart");
        Assert.Equal(1, (await Fleet.EffectsOfAsync(runId)).Single().Requests);
    }

    [Fact]
    public async Task Act_FailingOnEveryAttempt_FailsTheRunAfterThreeAttemptsWithoutApplying()
    {
        var runtime = await StartRuntimeAsync();
        var runId = await SubmitHealerAwaitingApprovalAsync(runtime);
        await Fleet.FailNextAsync(10);
        try
        {
            await DecideAsync(runtime, runId);

            var run = await runtime.WaitTerminalAsync(runId);
            AssertFailed(run, "Step s2 (sample.restart) failed", "(after 3 attempts)");
            Assert.Equal(nameof(StepStatus.Failed), run.View.Steps.Single(s => s.StepId == "s2").Status);
            Assert.Empty(await Fleet.EffectsOfAsync(runId));
            var log = runtime.LogTail(500);
            // Each attempt is logged where it failed; the engine made exactly three.
            var failure = $"Activity Act of run {runId} (s2/act) failed (retryable): sample.restart answered 503";
            Assert.Equal(3, log.Split(failure).Length - 1);
        }
        finally
        {
            await Fleet.FailNextAsync(0);
        }
    }
}
