using System.Text.Json;
using Agentic.Core.Activities;
using Agentic.Core.Agents;
using Agentic.Core.Json;
using Agentic.Core.Planning;
using Agentic.Core.Policy;
using Agentic.Core.Secrets;
using Agentic.Core.Tests.Tools;
using Agentic.Core.Tools;
using Agentic.Core.Tools.Builtin;
using Agentic.Testing;
using Microsoft.Extensions.Options;
using SideEffect = Agentic.Core.Tools.SideEffect;

namespace Agentic.Core.Tests.Planning;

/// <summary>The plan activity for a language model agent: what the model is offered, and what the plan and its record carry.</summary>
public sealed class PlanActivityModelTests : IAsyncLifetime
{
    private static readonly ToolDescriptor Health = new("sample.health", "1.0.0", "Reads health.", RiskLevel.Low, SideEffect.ReadOnly, Idempotent: true, TimeSpan.FromSeconds(5), 4096)
    {
        InputSchema = """{"type":"object","additionalProperties":false,"properties":{}}""",
    };

    private static readonly ToolDescriptor Lookup = new("mcp.crm.lookup", "1.0.0", "Looks a customer up.", RiskLevel.Low, SideEffect.ReadOnly, Idempotent: true, TimeSpan.FromSeconds(5), 4096);

    private readonly ScriptedModelServer _model = new();
    private readonly LoopbackOnlyNetwork _network = new();
    private ChatModels? _models;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        _models?.Dispose();
        await _model.DisposeAsync();
    }

    [Fact]
    public async Task ToolTheGuardsRefuse_IsNotOffered_AndThePlanRecordsWhy()
    {
        _model.ThenJson(new { rationale = "Look.", steps = new object[] { new { id = "s1", tool = "sample.health", arguments = new { }, rationale = "Check." } } });
        var options = new ModelsOptions();
        options.Models["default"] = new ModelOptions { Provider = "openai", Endpoint = _model.Endpoint, Model = "m", ApiKeySecret = "k", AllowPrivate = true };
        _models = new ChatModels(Options.Create(options), new OneSecret("k", "sk-0123456789abcdef"), new EgressClient(_network.ResolveAsync, _network.ConnectAsync), []);
        var registry = new ToolRegistry([new FakeTool(Health, default), new FakeTool(Lookup, default)]);
        var agent = new AgentDefinition("helper", "Helps.", _ => throw new InvalidOperationException())
        {
            Tools = ["sample.health", "mcp.crm.lookup"],
            Llm = new LlmSettings("default", "task-planner", []),
            PlannerKind = AgentLoader.LlmPlanner,
        };
        var activity = new PlanActivity(new AgentCatalog([agent]), TestAudit.InMemoryLog(), TimeProvider.System,
            new LlmPlanner(_models, registry, TimeProvider.System), PromptTemplates.Load(null), new StaticPolicyProvider(ShippedPolicies.Baseline), registry, [new RefuseMcp()]);
        var observation = new Observation("http-probe:http://svc/health", DateTimeOffset.UtcNow, "sha256:x", true, "ok", AgenticJson.ToElement(new { status = "ok" }));
        var input = new PlanInput("run-1", "helper", "Check the service.", "http://svc", null, observation) { Principal = "alice", PrincipalRoles = ["requester"], Autonomy = "supervised", Environment = "dev" };

        var plan = AgenticJson.FromElement<Plan>(await activity.RunAsync(AgenticJson.ToElement(input), new ActivityContext("run-1", "plan", 1), Ct))!;

        Assert.Equal(["sample.health"], plan.Model!.Offered);
        var withheld = plan.Offers!.Single(o => o.Tool == "mcp.crm.lookup");
        Assert.Equal((false, "mcp-unpinned:mcp.crm.lookup"), (withheld.Offered, withheld.Rule));
        Assert.DoesNotContain("mcp.crm.lookup", _model.Requests.Single().ToJsonString(), StringComparison.Ordinal);
        Assert.True(plan.Model.Tainted);
    }

    private sealed class RefuseMcp : IToolGuard
    {
        public Task<ToolRefusal?> CheckAsync(ToolRegistry registry, ITool tool, CancellationToken cancellationToken) =>
            Task.FromResult(tool.Descriptor.Name.StartsWith("mcp.", StringComparison.Ordinal)
                ? new ToolRefusal("mcp-unpinned:" + tool.Descriptor.Name, "1", "Not pinned by an admin.")
                : null);
    }

}
