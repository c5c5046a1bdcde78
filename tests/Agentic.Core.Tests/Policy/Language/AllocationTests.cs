using Agentic.Core.Agents;
using Agentic.Core.Policy.Language;
using Agentic.Core.Tools;
using static Agentic.Core.Tests.Policy.Language.PolicyFixtures;

namespace Agentic.Core.Tests.Policy.Language;

/// <summary>The hot path allocates nothing, whatever the shape of the conditions (the benchmark measures the same).</summary>
public sealed class AllocationTests
{
    [Theory]
    [InlineData(int.MaxValue)]
    [InlineData(0)]
    public void Evaluate_AllocatesNothing_ForEveryKindOfCondition(int indexMinRules)
    {
        var policy = PolicyLoader.Load(PolicyOf(
            Rule("f1", "forbid", "tool.name == 'db.drop' && context.environment == 'prod'"),
            Rule("f2", "forbid", "args.replicas > 50 || args.target.host matches '*.internal' || 'root' in args.users"),
            Rule("f3", "forbid", "resource.environment != context.environment && agent.autonomy < context.autonomy"),
            Rule("f4", "forbid", "args.mode in ['reckless', 'yolo'] || args.size in args.forbiddenSizes || args.force && !args.dryRun"),
            Rule("a1", "require_approval", "tool.risk >= 'high' && tool.sideEffect != 'read-only'"),
            Rule("a2", "require_approval", "context.hour < 6 || context.budgetUsed > 100.5 || context.stepsTaken >= 10"),
            Rule("p1", "permit", "tool.name in ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'sample.scale'] && 'operator' in principal.roles"),
            Rule("p2", "permit", "tool.sideEffect matches 'read*' && !('pci' in tool.tags)"),
            Rule("p3", "permit", "tool.version == resource.target || principal.id == agent.name")), FileName, analyze: true, indexMinRules);
        Assert.Equal(indexMinRules == 0, policy.Indexed);
        PolicyRequest[] requests =
        [
            Request(),
            Request(tool: "sample.scale", risk: RiskLevel.Medium, sideEffect: SideEffect.Reversible, args: """{"replicas":3,"target":{"host":"a.public"},"users":["bob"],"mode":"safe","size":2,"forbiddenSizes":[1,3],"force":true,"dryRun":true}"""),
            Request(tool: "db.drop", risk: RiskLevel.Critical, sideEffect: SideEffect.Irreversible, environment: "dev", hour: 3),
            Request(tool: "x", risk: RiskLevel.High, sideEffect: SideEffect.Reversible, tags: ["pci"], autonomy: "suggest", contextAutonomy: "autonomous", resourceEnvironment: "prod", environment: "staging"),
        ];
        var effects = requests.Select(r => policy.Evaluate(r).Effect).ToList();
        for (var i = 0; i < 1_000; i++)
        {
            foreach (var request in requests)
            {
                policy.Evaluate(request);
            }
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            foreach (var request in requests)
            {
                policy.Evaluate(request);
            }
        }
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.Equal([GateEffect.Permit, GateEffect.Permit, GateEffect.RequireApproval, GateEffect.Forbid], effects);
    }
}
