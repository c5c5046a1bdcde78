using Agentic.Core.Agents;
using Agentic.Core.Policy.Language;
using Agentic.Core.Tools;
using static Agentic.Core.Tests.Policy.Language.PolicyFixtures;

namespace Agentic.Core.Tests.Policy.Language;

public sealed class PolicyRequestTests
{
    private static readonly ToolDescriptor Restart = new("sample.restart", "1.0.0", "Restarts.", RiskLevel.High, SideEffect.Reversible, Idempotent: true, TimeSpan.FromSeconds(5), 1024);

    [Fact]
    public void FromGate_TakesWhatTheGateInputCarries_AndTheHourInUtc()
    {
        var input = new GateInput("run-1", "s1", "alice", "service-healer", "prod", "sample.restart", TestJson.Parse("""{"target":"checkout"}"""), "sha256:x", 2);

        var request = PolicyRequest.FromGate(input, Restart, new DateTimeOffset(2026, 1, 2, 23, 30, 0, TimeSpan.FromHours(-2)), "supervised", ["operator"], "checkout", 12.5, ["ops"]);

        Assert.Equal(new PolicyPrincipal("alice", ["operator"]).Id, request.Principal.Id);
        Assert.Equal(["operator"], request.Principal.Roles);
        Assert.Equal(new PolicyAgent("service-healer", "supervised"), request.Agent);
        Assert.Equal(("sample.restart", "1.0.0", RiskLevel.High, SideEffect.Reversible), (request.Tool.Name, request.Tool.Version, request.Tool.Risk, request.Tool.SideEffect));
        Assert.Equal(new PolicyResource("checkout", "prod"), request.Resource);
        Assert.Equal(new PolicyContext("prod", 1, 12.5, 2, "supervised"), request.Context);
        var policy = Load(OneRule(Quote("context.hour == 1 && context.stepsTaken == 2 && args.target == 'checkout' && 'ops' in tool.tags && context.budgetUsed > 12")));
        Assert.Equal("r1", policy.Evaluate(request).Rule);
    }

    [Fact]
    public void Request_RefusesWhatCanNotBeEvaluated()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Request(hour: 24));
        Assert.Throws<ArgumentOutOfRangeException>(() => Request(risk: (RiskLevel)9));
        Assert.Throws<ArgumentException>(() => new PolicyRequest(
            new PolicyPrincipal("a", []), new PolicyAgent("a", "observe"), PolicyTool.From(Restart), TestJson.Parse("[1]"),
            new PolicyResource("t", "dev"), new PolicyContext("dev", 0, 0, 0, "observe")));
    }

    [Fact]
    public void Request_WithoutArguments_HasNone()
    {
        var request = new PolicyRequest(new PolicyPrincipal("a", []), new PolicyAgent("a", "observe"), PolicyTool.From(Restart), default, new PolicyResource("t", "dev"), new PolicyContext("dev", 0, 0, 0, "observe"));

        Assert.False(Matches("args.x == 1 || args.x", request));
        Assert.True(Matches("args.x != 1", request));
    }

    [Fact]
    public void Policy_KeepsItsDescription()
    {
        var policy = Load("id: p\nversion: \"1\"\ndescription: Keeps things calm.\nrules: []\n");

        Assert.Equal("Keeps things calm.", policy.Description);
        Assert.Equal(GateEffect.Forbid, policy.Evaluate(Request()).Effect);
    }
}
