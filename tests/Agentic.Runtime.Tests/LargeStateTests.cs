using System.Text;
using System.Text.Json;
using Agentic.Azure;
using Agentic.Core.Json;
using Agentic.Core.Runs;
using Agentic.Core.Workflow;
using Agentic.Durable;
using Agentic.Runtime.Tests.Infrastructure;
using Agentic.Testing;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;

namespace Agentic.Runtime.Tests;

/// <summary>A run whose document outgrows a table property is kept in a blob by the engine and read back whole.</summary>
public sealed class LargeStateTests(AzuriteFixture azurite, FleetFixture fleet) : RuntimeTest(azurite, fleet), IClassFixture<FleetFixture>
{
    // Azure Table Storage's property limit as the engine applies it: 60 KB of UTF-16.
    private const int TablePropertyBytes = 60 * 1024;

    [Fact]
    public async Task Diagnostics_FiftyProbes_CompletesWithItsOutputInABlob()
    {
        var runtime = await StartRuntimeAsync();

        var runId = await SubmitAsync(runtime, Requests.Diagnostics(Fleet.HealthyTarget(), probes: 50));

        var run = await runtime.WaitTerminalAsync(runId, TimeSpan.FromSeconds(90));
        AssertCompleted(run, "done");
        Assert.Equal(50, run.View.Steps.Count);
        Assert.All(run.View.Steps, s => Assert.Equal(nameof(StepStatus.Succeeded), s.Status));
        Assert.Equal(50, run.View.Output!.StepsSucceeded);
        Assert.All(run.View.Steps, s => Assert.NotNull(s.Decision));
        var document = JsonSerializer.Serialize(run.View, AgenticJson.Options);
        Assert.True(Encoding.Unicode.GetByteCount(document) > TablePropertyBytes, $"The document is {document.Length} characters, not over the table property limit.");
        // The instance row itself: the output is a reference to the hub's large-message blobs, and what the client read
        // came from there.
        var table = new TableClient(Azurite.ConnectionString, Hub + "Instances");
        var row = (await table.GetEntityAsync<TableEntity>(runId, "", cancellationToken: Ct)).Value;
        var stored = row.GetString("Output") ?? "";
        Assert.True(stored.Length < 1024 && stored.Contains(Hub + "-largemessages/", StringComparison.Ordinal), $"The instances row holds the output inline ({stored.Length} characters).");
    }

    [Fact]
    public async Task Request_NearTheBodySizeLimit_RunsToCompletion_WithItsInputKeptInABlob()
    {
        var runtime = await StartRuntimeAsync();
        var goal = string.Concat(Enumerable.Repeat("Find out why checkout is slow. ", 70))[..2000];
        var target = Fleet.HealthyTarget();
        // Parameters the playbook does not read fill the body up to a few hundred bytes short of the limit.
        var size = JsonSerializer.SerializeToUtf8Bytes(new { agent = "diagnostics", target, goal, parameters = new { probes = 2, notes = "" } }, AgenticJson.Options).Length;
        var notes = new string('n', RunRequestParser.MaxBodyBytes - size - 200);
        var body = new { agent = "diagnostics", target, goal, parameters = new { probes = 2, notes } };
        Assert.InRange(JsonSerializer.SerializeToUtf8Bytes(body, AgenticJson.Options).Length, RunRequestParser.MaxBodyBytes - 300, RunRequestParser.MaxBodyBytes);

        var runId = await SubmitAsync(runtime, Requests.Parse(body));

        var run = await runtime.WaitTerminalAsync(runId);
        AssertCompleted(run, "done");
        Assert.Equal(goal, run.View.Goal);
        Assert.Equal(2, run.View.Steps.Count);
        // The start message and the instance's input outgrew a queue message and a table property: the engine keeps
        // them in its large-message blobs, and the instances row holds a reference.
        var row = (await EngineStorage.Instances.GetEntityAsync<TableEntity>(runId, "", cancellationToken: Ct)).Value;
        var input = row.GetString("Input") ?? "";
        Assert.True(input.Length < 1024 && input.Contains(Hub + "-largemessages/", StringComparison.Ordinal), $"The instances row holds the input inline ({input.Length} characters).");
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
