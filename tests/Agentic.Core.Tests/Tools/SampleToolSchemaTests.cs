using Agentic.Core.Agents;
using Agentic.Core.Tools;

namespace Agentic.Core.Tests.Tools;

public sealed class SampleToolSchemaTests
{
    private static readonly ToolRegistry Registry = new(SampleServiceTools.Descriptors.Select(d => new FakeTool(d, TestJson.Parse("{}"))));

    private static IReadOnlyList<string> Args(string tool, string json) => Registry.ValidateArguments(tool, TestJson.Parse(json));

    private static IReadOnlyList<string> Output(string tool, string json) => Registry.ValidateOutput(tool, TestJson.Parse(json));

    [Fact]
    public void EverySampleTool_HasInputAndOutputSchemas()
    {
        Assert.All(SampleServiceTools.Descriptors, d =>
        {
            Assert.NotNull(d.InputSchemaJson);
            Assert.NotNull(d.OutputSchemaJson);
        });
    }

    [Theory]
    [InlineData("sample.health", "{}")]
    [InlineData("sample.health", """{"verbose":true}""")]
    [InlineData("sample.diagnostics", "{}")]
    [InlineData("sample.diagnostics", """{"probe":3}""")]
    [InlineData("sample.restart", """{"reason":"health probe reported degraded"}""")]
    [InlineData("sample.scale", """{"replicas":0}""")]
    [InlineData("sample.scale", """{"replicas":100}""")]
    public void ValidArguments_HaveNoViolations(string tool, string json) => Assert.Empty(Args(tool, json));

    [Fact]
    public void Health_RefusesANonObject() =>
        Assert.Equal(["$: expected object, got array"], Args("sample.health", "[]"));

    [Fact]
    public void Diagnostics_RefusesAProbeThatIsNotAnInteger() =>
        Assert.Equal(["$.probe: expected integer, got string"], Args("sample.diagnostics", """{"probe":"1"}"""));

    [Fact]
    public void Restart_RequiresAReason() =>
        Assert.Equal(["$.reason: required property is missing"], Args("sample.restart", "{}"));

    [Fact]
    public void Restart_RefusesAnEmptyReason() =>
        Assert.Equal(["$.reason: expected at least 1 character(s), got 0"], Args("sample.restart", """{"reason":""}"""));

    [Fact]
    public void Restart_RefusesAReasonLongerThan500Characters() =>
        Assert.Equal(["$.reason: expected at most 500 character(s), got 501"], Args("sample.restart", $$"""{"reason":"{{new string('x', 501)}}"}"""));

    [Fact]
    public void Restart_RefusesUnknownMembers() =>
        Assert.Equal(["$.force: property is not allowed"], Args("sample.restart", """{"reason":"r","force":true}"""));

    [Fact]
    public void Scale_RefusesReplicasAsAString() =>
        Assert.Equal(["$.replicas: expected integer, got string"], Args("sample.scale", """{"replicas":"3"}"""));

    [Fact]
    public void Scale_RefusesAFractionalReplicaCount() =>
        Assert.Equal(["$.replicas: expected integer, got number"], Args("sample.scale", """{"replicas":1.5}"""));

    [Fact]
    public void Scale_RequiresReplicas() =>
        Assert.Equal(["$.replicas: required property is missing"], Args("sample.scale", "{}"));

    [Fact]
    public void Scale_RefusesReplicasOutOfRange()
    {
        Assert.Equal(["$.replicas: expected at most 100, got 101"], Args("sample.scale", """{"replicas":101}"""));
        Assert.Equal(["$.replicas: expected at least 0, got -1"], Args("sample.scale", """{"replicas":-1}"""));
    }

    [Fact]
    public void Scale_ListsEveryViolation() =>
        Assert.Equal(
            ["$.replicas: expected at most 100, got 101", "$.zone: property is not allowed"],
            Args("sample.scale", """{"zone":"eu","replicas":101}"""));

    [Theory]
    [InlineData("sample.health", """{"status":"healthy","service":"a","replicas":2,"restarts":0,"added":"later"}""")]
    [InlineData("sample.diagnostics", """{"service":"a","errorRate":0.27,"p95LatencyMs":1870,"replicas":2,"message":"m","extra":[1]}""")]
    [InlineData("sample.restart", """{"message":"restarted a","service":"a","restarts":1}""")]
    [InlineData("sample.scale", """{"message":"scaled a","service":"a","replicas":3}""")]
    public void SampleServiceOutputs_SatisfyTheOutputSchemas_EvenWithExtraMembers(string tool, string json) => Assert.Empty(Output(tool, json));

    [Fact]
    public void Health_OutputWithoutStatus_Violates() =>
        Assert.Equal(["$.status: required property is missing"], Output("sample.health", """{"service":"a"}"""));

    [Theory]
    [InlineData("service-healer", null)]
    [InlineData("diagnostics", """{"probes":5}""")]
    [InlineData("scaler", """{"replicas":250}""")]
    [InlineData("scaler", """{"replicas":-4}""")]
    public void PlaybookArguments_SatisfyTheSampleSchemas(string agent, string? parameters)
    {
        var observation = new Observation("http", DateTimeOffset.UnixEpoch, "sha256:x", Healthy: false, "degraded", TestJson.Parse("{}"));
        var input = new PlanInput("run-1", agent, null, "http://fleet/services/a", parameters is null ? null : TestJson.Parse(parameters), observation);
        var plan = AgentCatalog.Default.Get(agent).Planner(input);

        Assert.NotEmpty(plan.Steps);
        Assert.All(plan.Steps, step => Assert.Empty(Registry.ValidateArguments(step.Tool, step.Arguments)));
    }

    private const string Contract = """
        {"title":"Support agreement","parties":[{"name":"Contoso Ltd","role":"customer"},{"name":"Fabrikam GmbH","role":"supplier"}],
         "effectiveDate":"2026-02-01","expiryDate":"2027-01-31","value":{"amount":24000,"currency":"EUR"},
         "clauses":[{"kind":"confidentiality","excerpt":"Each party keeps the other's information confidential."}]}
        """;

    [Fact]
    public void ContractRecord_AcceptsExtractedFields_WithOrWithoutAnExpiryDate()
    {
        Assert.Empty(Args("contract.record", Contract));
        Assert.Empty(Args("contract.record", Contract.Replace("\"expiryDate\":\"2027-01-31\",", "", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData("\"effectiveDate\":\"2026-02-01\"", "\"effectiveDate\":\"1 February 2026\"", "$.effectiveDate: expected a date (yyyy-MM-dd), got \"1 February 2026\"")]
    [InlineData("\"currency\":\"EUR\"", "\"currency\":\"euro\"", "$.value.currency: expected a string matching '^[A-Z]{3}$', got \"euro\"")]
    [InlineData("\"kind\":\"confidentiality\"", "\"kind\":\"approved-by-legal\"", "$.clauses[0].kind: expected one of [\"limitation-of-liability\", ")]
    [InlineData("\"title\":\"Support agreement\",", "\"title\":\"Support agreement\",\"contract\":\"c-9\",", "$.contract: property is not allowed")]
    [InlineData(",{\"name\":\"Fabrikam GmbH\",\"role\":\"supplier\"}", "", "$.parties: expected at least 2 item(s)")]
    public void ContractRecord_RefusesFieldsOutsideItsSchema(string what, string with, string violation)
    {
        var json = Contract.Replace(what, with, StringComparison.Ordinal);
        Assert.NotEqual(Contract, json);
        Assert.Contains(Args("contract.record", json), v => v.StartsWith(violation, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("""{"message":"recorded contract c-1 version 1: risk 0 (low)","contract":"c-1","version":1,"previousVersion":0,"status":"recorded","riskScore":0,"riskBand":"low","factors":[]}""")]
    [InlineData("""{"contract":"c-1","version":2,"status":"in-review","riskScore":90,"riskBand":"high"}""")]
    public void ContractRegisterOutputs_SatisfyTheRecordOutputSchema(string json) => Assert.Empty(Output("contract.record", json));
}
