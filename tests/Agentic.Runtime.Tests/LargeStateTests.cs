using System.Text.Json;
using Agentic.Azure;
using Agentic.Core.Json;
using Agentic.Core.Workflow;
using Agentic.Runtime.Tests.Infrastructure;
using Agentic.Testing;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;

namespace Agentic.Runtime.Tests;

/// <summary>Run state over the inline limit (48 KB) moves to a blob and the run goes on from there.</summary>
public sealed class LargeStateTests(AzuriteFixture azurite, FleetFixture fleet) : RuntimeTest(azurite, fleet), IClassFixture<FleetFixture>
{
    private const int InlineLimit = 48 * 1024;

    [Fact]
    public async Task Diagnostics_FiftyProbes_CompletesWithItsStateInABlob()
    {
        var runtime = await StartRuntimeAsync();

        var runId = await SubmitAsync(runtime, Requests.Diagnostics(Fleet.HealthyTarget(), probes: 50));

        var run = await runtime.WaitTerminalAsync(runId, TimeSpan.FromSeconds(90));
        AssertCompleted(run, "done");
        Assert.Equal(50, run.State.Steps.Length);
        Assert.All(run.State.Steps, s => Assert.Equal(StepStatus.Succeeded, s.Status));
        Assert.Equal(50, run.State.Output!.StepsSucceeded);
        // Read the stored row itself: the state is referenced, not inline, and the blob holds all of it.
        var table = new TableClient(Azurite.ConnectionString, Hub + "runs");
        var row = (await table.GetEntityAsync<TableEntity>(runId, "run", cancellationToken: Ct)).Value;
        Assert.Null(row.GetBinary("State"));
        var reference = JsonSerializer.Deserialize<PayloadRef>(row.GetString("StateRef") ?? throw new InvalidOperationException("The run row has no StateRef."), AgenticJson.Options)!;
        var state = await runtime.Payloads.GetAsync(reference, Ct);
        Assert.True(state.Length > InlineLimit, $"The state is {state.Length} bytes, not over {InlineLimit}.");
        Assert.Equal(runId, JsonSerializer.Deserialize<AgentRunState>(state, AgenticJson.Options)!.RunId);
    }

    [Fact]
    public async Task Diagnostics_MorePlanStepsThanTheGuardAllows_FailsWithTheGuardReason()
    {
        // A deployment can tighten the guard below what an agent plans.
        var runtime = await StartRuntimeAsync(services: s => s.AddSingleton(new AgentWorkflowOptions { MaxSteps = 20 }));

        var runId = await SubmitAsync(runtime, Requests.Diagnostics(Fleet.HealthyTarget(), probes: 21));

        var run = await runtime.WaitTerminalAsync(runId);
        AssertFailed(run, "Guard: the plan has 21 steps; at most 20 are allowed.");
    }
}
