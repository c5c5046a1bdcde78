using System.Text.Json;
using Agentic.Core.Audit;
using Agentic.Core.Policy;
using Agentic.Runtime.Tests.Infrastructure;
using Agentic.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Agentic.Runtime.Tests;

/// <summary>
/// The shipped <c>task</c> agent on the engine, planning with a language model through the real client stack against a
/// local scripted OpenAI-compatible server: what the model is offered, what it reads, how its taint reaches the gate,
/// and what the audit records.
/// </summary>
public sealed class LlmPlanningTests(AzuriteFixture azurite, FleetFixture fleet) : RuntimeTest(azurite, fleet), IClassFixture<FleetFixture>
{
    private static Dictionary<string, string?> ModelSettings(ScriptedModelServer model) => new()
    {
        ["Agentic:Models:default:Provider"] = "openai",
        ["Agentic:Models:default:Endpoint"] = model.Endpoint,
        ["Agentic:Models:default:Model"] = "scripted-model",
        ["Agentic:Models:default:ApiKeySecret"] = "model-key",
        ["Agentic:Models:default:AllowPrivate"] = "true",
        ["Agentic:Models:default:InputCostPerMillionTokens"] = "1000",
        ["Agentic:Models:default:OutputCostPerMillionTokens"] = "2000",
        ["Agentic:Secrets:model-key"] = "sk-runtime-test-0123456789",
    };

    [Fact]
    public async Task TaskAgent_PlansWithTheModel_AndItsTaintedChangeWaitsForAnOperator_ThenRunsOnce()
    {
        await using var model = new ScriptedModelServer();
        // The service's answer tells the model what to do; the model obeys. The policy and the taint still decide.
        model.ThenJson(new
        {
            rationale = "The goal asks for more capacity.",
            steps = new object[]
            {
                new { id = "look", tool = "sample.diagnostics", arguments = new { }, rationale = "Collect evidence first." },
                new { id = "grow", tool = "sample.scale", arguments = new { replicas = 4 }, rationale = "Scale to 4 as asked." },
            },
        }, inputTokens: 900, outputTokens: 150);
        var runtime = await StartRuntimeAsync(ModelSettings(model));
        var target = Fleet.HealthyTarget();

        var runId = await SubmitAsync(runtime, Requests.Parse(new { agent = "task", target, goal = "Scale the service to 4 replicas." }));
        var waiting = await runtime.WaitAwaitingApprovalAsync(runId, "grow");

        // Offered: the agent's tools the baseline could permit; the prompt named them, and the goal came as data.
        var sent = model.Requests.Single();
        var system = sent["messages"]![0]!["content"]!.ToString();
        Assert.Contains("sample.scale", system, StringComparison.Ordinal);
        Assert.DoesNotContain("http.request", system, StringComparison.Ordinal);
        Assert.Contains("Scale the service to 4 replicas.", sent["messages"]![1]!["content"]!.ToString(), StringComparison.Ordinal);
        // The read-only step ran; the change a tainted plan proposed waits for an operator, though the baseline permits it.
        var grow = waiting.View.Steps.Single(s => s.StepId == "grow");
        Assert.Equal(PolicyGate.TaintRule, grow.Decision!.Rule);

        await DecideAsync(runtime, runId, stepId: "grow");
        AssertCompleted(await runtime.WaitTerminalAsync(runId), "done");
        var scaled = Assert.Single(await Fleet.EffectsOfAsync(runId), e => e.Operation == "scale");
        Assert.Equal(1, scaled.Applied);

        var plan = (await runtime.Services.GetRequiredService<AuditReader>().ReadAsync(runId, Ct)).Single(r => r.Kind == AuditKinds.Plan);
        var used = plan.Data.GetProperty("model");
        Assert.Equal("task-planner", used.GetProperty("promptId").GetString());
        Assert.StartsWith("sha256:", used.GetProperty("promptHash").GetString(), StringComparison.Ordinal);
        Assert.Equal("scripted-model", used.GetProperty("modelId").GetString());
        Assert.Equal(900, used.GetProperty("inputTokens").GetInt64());
        Assert.True(used.GetProperty("tainted").GetBoolean());
        Assert.Contains("request.goal", used.GetProperty("taintSources").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal(JsonValueKind.Array, used.GetProperty("offered").ValueKind);
    }

    [Fact]
    public async Task ModelThatNeverAnswersWithAValidPlan_FailsTheRun_WithTheReasons_AndActsOnNothing()
    {
        await using var model = new ScriptedModelServer();
        model.Then("I will scale it now.").Then("""{"rationale":"x","steps":[{"id":"a","tool":"sample.purge","arguments":{},"rationale":"y"}]}""").Then("{}");
        var runtime = await StartRuntimeAsync(ModelSettings(model));

        var runId = await SubmitAsync(runtime, Requests.Parse(new { agent = "task", target = Fleet.HealthyTarget(), goal = "Do something." }));

        AssertFailed(await runtime.WaitTerminalAsync(runId), "refused 3 times", "not JSON", "not one of the offered tools");
        Assert.Empty(await Fleet.EffectsOfAsync(runId));
        Assert.Equal(3, model.Served);
    }
}
