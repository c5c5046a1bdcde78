using Agentic.Core.Tools;
using static Agentic.Core.Tests.Policy.Language.PolicyFixtures;

namespace Agentic.Core.Tests.Policy.Language;

/// <summary>What each operator means at run time, one condition against one request.</summary>
public sealed class OperatorTests
{
    [Theory]
    [InlineData("tool.name matches 'sample.*'", true)]
    [InlineData("tool.name matches 'sample.?ealth'", true)]
    [InlineData("tool.name matches '*health'", true)]
    [InlineData("tool.name matches '*.*'", true)]
    [InlineData("tool.name matches '*mple.he*'", true)]
    [InlineData("tool.name matches 's*e.h*h'", true)]
    [InlineData("tool.name matches 'sample.health'", true)]
    [InlineData("tool.name matches 'sample'", false)]
    [InlineData("tool.name matches 'Sample.*'", false)]
    [InlineData("tool.name matches 'sample.?'", false)]
    [InlineData("tool.name matches 'sample\\\\*'", false)]
    [InlineData("tool.sideEffect matches 'read-*'", true)]
    [InlineData("tool.sideEffect matches '*reversible'", false)]
    [InlineData("args.url matches 'https://*.example.com/*'", true)]
    [InlineData("args.count matches '*'", false)]
    [InlineData("args.missing matches '*'", false)]
    public void Matches_IsAWholeStringGlob(string when, bool expected)
    {
        Assert.Equal(expected, Matches(when, Request(args: """{"url":"https://api.example.com/v1","count":3}""")));
    }

    [Theory]
    [InlineData("tool.name in ['sample.health', 'sample.diagnostics']", true)]
    [InlineData("tool.name in ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'sample.health']", true)]
    [InlineData("tool.name in ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j']", false)]
    [InlineData("tool.risk in ['low', 'medium']", true)]
    [InlineData("tool.risk in ['high', 'critical']", false)]
    [InlineData("context.hour in [9, 10, 11]", true)]
    [InlineData("context.environment in ['dev', 'test']", false)]
    [InlineData("'operator' in principal.roles", true)]
    [InlineData("'admin' in principal.roles", false)]
    [InlineData("'pci' in tool.tags", true)]
    [InlineData("'billing' in args.scopes", true)]
    [InlineData("'admin' in args.scopes", false)]
    [InlineData("3 in args.sizes", true)]
    [InlineData("args.size in args.sizes", true)]
    [InlineData("args.region in ['eu-west', 'eu-north']", true)]
    [InlineData("args.size in [1, 2, 3]", true)]
    [InlineData("args.size in ['3']", false)]
    [InlineData("args.missing in ['x']", false)]
    [InlineData("tool.name in tool.tags", false)]
    [InlineData("agent.name in principal.roles", false)]
    public void In_LooksInListLiteralsAndListAttributes(string when, bool expected)
    {
        var request = Request(tags: ["pci", "payments"], args: """{"scopes":["billing","read"],"sizes":[1,3,5],"size":3,"region":"eu-west"}""");

        Assert.Equal(expected, Matches(when, request));
    }

    [Theory]
    [InlineData("args.target.host == 'db-1'", true)]
    [InlineData("args.target.port == 5432", true)]
    [InlineData("args.target.port >= 5000 && args.target.port < 6000", true)]
    [InlineData("args.target == 'db-1'", false)]
    [InlineData("args.force", true)]
    [InlineData("args.dryRun", false)]
    [InlineData("!args.dryRun", true)]
    [InlineData("args.force == true", true)]
    [InlineData("args.replicas > 10", true)]
    [InlineData("args.replicas > 12", false)]
    [InlineData("args.replicas == '12'", false)]
    [InlineData("args.note == 'x'", false)]
    [InlineData("args.missing == 'x'", false)]
    [InlineData("args.missing != 'x'", true)]
    [InlineData("args.missing > 0 || args.missing <= 0", false)]
    [InlineData("args.missing", false)]
    [InlineData("args.replicas == args.limits.max", true)]
    [InlineData("args.replicas < args.limits.max", false)]
    [InlineData("args.a.b == 'nested'", true)]
    [InlineData("args.dup == 'last'", true)]
    [InlineData("args.dry-run", true)]
    public void Args_AreReadByDottedPath_WithRunTimeTypes(string when, bool expected)
    {
        // "a.b" as a member name is not addressable: args.a.b reads the nested object, never the dotted key.
        var args = """{"target":{"host":"db-1","port":5432},"force":true,"dryRun":false,"replicas":12,"note":null,"limits":{"max":12},"a.b":"flat","a":{"b":"nested"},"dup":"first","dup":"last","dry-run":true}""";

        Assert.Equal(expected, Matches(when, Request(args: args)));
    }

    [Theory]
    [InlineData("tool.risk >= 'high'", RiskLevel.High, true)]
    [InlineData("tool.risk >= 'high'", RiskLevel.Medium, false)]
    [InlineData("tool.risk < 'medium'", RiskLevel.Low, true)]
    [InlineData("'medium' < tool.risk", RiskLevel.Critical, true)]
    [InlineData("'medium' < tool.risk", RiskLevel.Medium, false)]
    [InlineData("tool.risk != 'low'", RiskLevel.Low, false)]
    public void OrderedEnums_CompareByTheirOrder(string when, RiskLevel risk, bool expected)
    {
        Assert.Equal(expected, Matches(when, Request(risk: risk)));
    }

    [Theory]
    [InlineData("agent.autonomy < context.autonomy", "suggest", "autonomous", true)]
    [InlineData("agent.autonomy >= 'supervised'", "supervised", "supervised", true)]
    [InlineData("agent.autonomy == context.autonomy", "observe", "observe", true)]
    [InlineData("agent.autonomy > 'observe'", "rogue", "rogue", false)]
    [InlineData("agent.autonomy <= 'autonomous'", "rogue", "rogue", false)]
    [InlineData("agent.autonomy != 'observe'", "rogue", "rogue", true)]
    [InlineData("agent.autonomy == context.autonomy", "rogue", "rogue", true)]
    [InlineData("agent.autonomy < context.autonomy", "rogue", "observe", false)]
    public void OpenEnums_WithAValueOutsideTheKnownOnes_EqualOnlyThemselves_AndOrderWithNothing(string when, string agentAutonomy, string contextAutonomy, bool expected)
    {
        Assert.Equal(expected, Matches(when, Request(autonomy: agentAutonomy, contextAutonomy: contextAutonomy)));
    }

    [Theory]
    [InlineData("context.hour >= 9 && context.hour < 17", 9, true)]
    [InlineData("context.hour >= 9 && context.hour < 17", 17, false)]
    [InlineData("context.budgetUsed <= 100.5", 0, true)]
    [InlineData("context.stepsTaken == 0", 0, true)]
    [InlineData("context.hour > -1", 0, true)]
    public void Numbers_CompareAsNumbers(string when, int hour, bool expected)
    {
        Assert.Equal(expected, Matches(when, Request(hour: hour)));
    }

    [Theory]
    [InlineData("resource.environment == context.environment", "prod", "prod", true)]
    [InlineData("resource.environment != context.environment", "prod", "dev", true)]
    [InlineData("resource.target == 'checkout' && principal.id == 'alice'", "prod", "prod", true)]
    [InlineData("agent.name == 'service-healer' && tool.version == '1.0.0'", "prod", "prod", true)]
    public void Attributes_CompareWithEachOther(string when, string resourceEnvironment, string environment, bool expected)
    {
        Assert.Equal(expected, Matches(when, Request(environment: environment, resourceEnvironment: resourceEnvironment)));
    }

    [Theory]
    [InlineData("tool.name == 'x' || tool.risk == 'low' && context.hour == 10", true)]
    [InlineData("(tool.name == 'x' || tool.risk == 'low') && context.hour == 11", false)]
    [InlineData("!(tool.name == 'x') && !!(tool.risk == 'low')", true)]
    [InlineData("tool.name != 'x' && tool.name != 'sample.health'", false)]
    [InlineData("true && !false", true)]
    [InlineData("1 < 2 && 'a' in ['a'] && 'ab' matches 'a?'", true)]
    public void Logic_FollowsPrecedence(string when, bool expected)
    {
        Assert.Equal(expected, Matches(when, Request()));
    }

    [Fact]
    public void StringComparison_IsOrdinalAndCaseSensitive()
    {
        Assert.False(Matches("tool.name == 'SAMPLE.HEALTH'", Request()));
        Assert.True(Matches("tool.name == 'ſample'", Request(tool: "ſample")));
    }
}
