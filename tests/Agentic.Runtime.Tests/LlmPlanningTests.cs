using System.Text.Json;
using System.Text.Json.Nodes;
using Agentic.Core.Audit;
using Agentic.Core.Planning;
using Agentic.Core.Policy;
using Agentic.Core.Workflow;
using Agentic.Runtime.Tests.Infrastructure;
using Agentic.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Agentic.Runtime.Tests;

/// <summary>
/// The shipped <c>task</c> agent on the engine, planning with a language model through the real client stack against a
/// local scripted OpenAI-compatible server, asked again after each action: what the model is offered, what it reads
/// (the outcome of every step so far), how its taint reaches the gate, and what the audit and the drift table record.
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
        // The goal tells the model what to do; the model obeys, one action at a time. The policy and the taint still decide.
        model.ThenJson(new
        {
            rationale = "The goal asks for more capacity; look first.",
            steps = new object[] { new { id = "look", tool = "sample.diagnostics", arguments = new { }, rationale = "Collect evidence first." } },
        }, inputTokens: 900, outputTokens: 150)
            .ThenJson(new { rationale = "Scale as asked.", steps = new object[] { new { id = "grow", tool = "sample.scale", arguments = new { replicas = 4 }, rationale = "Scale to 4 as asked." } } })
            .ThenJson(new { rationale = "Scaled the service to 4 replicas as the goal asked.", steps = Array.Empty<object>() });
        var runtime = await StartRuntimeAsync(ModelSettings(model));
        var target = Fleet.HealthyTarget();

        var runId = await SubmitAsync(runtime, Requests.Parse(new { agent = "task", target, goal = "Scale the service to 4 replicas." }));
        var waiting = await runtime.WaitAwaitingApprovalAsync(runId, "p2.grow");

        // Offered: the agent's tools the baseline could permit; the prompt named them, and the goal came as data.
        var sent = model.Requests[0];
        var system = sent["messages"]![0]!["content"]!.ToString();
        Assert.Contains("sample.scale", system, StringComparison.Ordinal);
        Assert.DoesNotContain("http.request", system, StringComparison.Ordinal);
        Assert.Contains("Scale the service to 4 replicas.", sent["messages"]![1]!["content"]!.ToString(), StringComparison.Ordinal);
        // The read-only step ran; the change a tainted plan proposed waits for an operator, though the baseline permits it.
        var grow = waiting.View.Steps.Single(s => s.StepId == "p2.grow");
        Assert.Equal(PolicyGate.TaintRule, grow.Decision!.Rule);

        await DecideAsync(runtime, runId, stepId: "p2.grow");
        var done = await runtime.WaitTerminalAsync(runId);
        AssertCompleted(done, "done");
        Assert.Equal("Scaled the service to 4 replicas as the goal asked.", done.View.Output!.Summary);
        var scaled = Assert.Single(await Fleet.EffectsOfAsync(runId), e => e.Operation == "scale");
        Assert.Equal(1, scaled.Applied);

        var plans = (await runtime.Services.GetRequiredService<AuditReader>().ReadAsync(runId, Ct)).Where(r => r.Kind == AuditKinds.Plan).ToList();
        Assert.Equal(["plan", "plan.2", "plan.3"], plans.Select(p => p.Id));
        var used = plans[0].Data.GetProperty("model");
        Assert.Equal("task-planner", used.GetProperty("promptId").GetString());
        Assert.StartsWith("sha256:", used.GetProperty("promptHash").GetString(), StringComparison.Ordinal);
        Assert.Equal("scripted-model", used.GetProperty("modelId").GetString());
        Assert.Equal(900, used.GetProperty("inputTokens").GetInt64());
        Assert.True(used.GetProperty("tainted").GetBoolean());
        Assert.Contains("request.goal", used.GetProperty("taintSources").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal(JsonValueKind.Array, used.GetProperty("offered").ValueKind);
    }

    [Fact]
    public async Task TaskAgent_StepByStep_ThePlanAfterAnActionDependsOnItsOutput_AndEachRoundIsInTheAuditAndTheDrift()
    {
        await using var model = new ScriptedModelServer();
        model.ThenJson(new
        {
            rationale = "Look at the service before changing it.",
            steps = new object[] { new { id = "look", tool = "sample.diagnostics", arguments = new { }, rationale = "Read its replicas." } },
        })
            // The second answer reads the look's output from the data it was given and sizes the change from it.
            .Then(request =>
            {
                var look = Outcome(request, "look");
                var replicas = look["output"]!["replicas"]!.GetValue<int>();
                return JsonSerializer.Serialize(new
                {
                    rationale = $"The service runs {replicas} replicas; add three.",
                    steps = new object[] { new { id = "grow", tool = "sample.scale", arguments = new { replicas = replicas + 3 }, rationale = "Three more replicas." } },
                });
            })
            .Then(request => JsonSerializer.Serialize(new
            {
                rationale = $"Scaled from {Outcome(request, "look")["output"]!["replicas"]} to {Outcome(request, "p2.grow")["output"]!["replicas"]} replicas.",
                steps = Array.Empty<object>(),
            }));
        var runtime = await StartRuntimeAsync(ModelSettings(model));

        var runId = await SubmitAsync(runtime, Requests.Parse(new { agent = "task", target = Fleet.HealthyTarget(), goal = "Add three replicas to the service." }));
        await runtime.WaitAwaitingApprovalAsync(runId, "p2.grow");
        await DecideAsync(runtime, runId, stepId: "p2.grow");
        var done = await runtime.WaitTerminalAsync(runId);

        AssertCompleted(done, "done");
        Assert.Equal("Scaled from 2 to 5 replicas.", done.View.Output!.Summary);
        Assert.Equal(["look", "p2.grow"], done.View.Steps.Select(s => s.StepId));
        Assert.Equal(5, done.View.Steps[1].Arguments!.Value.GetProperty("replicas").GetInt32());
        Assert.Equal(3, done.View.Plans);
        Assert.Equal(3, model.Served);
        // Each ask read what every step so far did, as untrusted data: one outcome, then two.
        Assert.Equal([0, 1, 2], model.Requests.Select(r => Outcomes(r).Count));
        var audit = await runtime.Services.GetRequiredService<AuditReader>().ReadAsync(runId, Ct);
        var second = audit.Single(r => r.Id == "plan.2");
        Assert.Equal([AgentWorkflow.Ids.Perceive, "look/act/outcome"], second.DerivedFrom);
        Assert.Contains("outcome:look", second.Data.GetProperty("model").GetProperty("taintSources").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal([1, 2, 3], audit.Where(r => r.Kind == AuditKinds.Plan).Select(r => r.Data.GetProperty("round").GetInt32()));

        // Every plan round is counted in the hub's drift table, once, for the prompt version and model that made it.
        var drift = await runtime.Services.GetRequiredService<IDriftStore>().ListAsync("task", DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow, Ct);
        var rounds = drift.Where(e => e.RunId == runId).ToList();
        Assert.Equal(["plan", "plan.2", "plan.3"], rounds.Select(e => e.CommandId).Order(StringComparer.Ordinal));
        Assert.All(rounds, e => Assert.Equal((DriftKinds.Plan, "llm:task-planner@2", "scripted-model", "2"), (e.Kind, e.Origin.Planner, e.Origin.Model, e.Origin.AgentVersion)));
    }

    // The items the data message holds for executed steps ("outcome:{step}"), each the JSON line after its opening line.
    private static List<JsonNode> Outcomes(JsonNode request)
    {
        var lines = request["messages"]![1]!["content"]!.ToString().Split('\n');
        return [.. lines.Select((line, i) => (line, i)).Where(l => l.line.StartsWith("<data source=\"outcome:", StringComparison.Ordinal)).Select(l => JsonNode.Parse(lines[l.i + 1])!)];
    }

    private static JsonNode Outcome(JsonNode request, string step) => Outcomes(request).Single(o => o["step"]!.GetValue<string>() == step);

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
