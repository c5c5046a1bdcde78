using Agentic.Core.Tools;

namespace Agentic.Core.Tests.Tools;

public sealed class ToolDescriptorTests
{
    private static readonly ToolDescriptor Plain = new("t", "1.0.0", "A tool.", RiskLevel.Low, SideEffect.ReadOnly, Idempotent: true, TimeSpan.FromSeconds(1), 1024);

    [Fact]
    public void Hash_ChangesWhenTheInputSchemaChanges()
    {
        var a = Plain with { InputSchema = """{"type":"object"}""" };
        var b = Plain with { InputSchema = """{"type":"object","additionalProperties":false}""" };

        Assert.NotEqual(Plain.Hash, a.Hash);
        Assert.NotEqual(a.Hash, b.Hash);
        Assert.Equal(a.Hash, (Plain with { InputSchema = """{"type":"object"}""" }).Hash);
    }

    [Fact]
    public void Hash_ChangesWhenTheOutputSchemaChanges()
    {
        var a = Plain with { OutputSchema = """{"type":"object"}""" };
        var b = Plain with { OutputSchema = """{"type":"array"}""" };

        Assert.NotEqual(Plain.Hash, a.Hash);
        Assert.NotEqual(a.Hash, b.Hash);
    }

    [Fact]
    public void SchemaJson_IsTheSchemaAsAJsonObject()
    {
        var d = Plain with { InputSchema = SampleServiceTools.ScaleInput };

        Assert.Equal(System.Text.Json.JsonValueKind.Object, d.InputSchemaJson!.Value.ValueKind);
        Assert.Equal("object", d.InputSchemaJson.Value.GetProperty("type").GetString());
        Assert.Null(d.OutputSchemaJson);
    }

    [Fact]
    public void Registry_RefusesAToolWhoseSchemaIsNotJson()
    {
        var bad = Plain with { InputSchema = "{not json" };

        var ex = Assert.Throws<ArgumentException>(() => new ToolRegistry([new FakeTool(bad, TestJson.Parse("{}"))]));
        Assert.StartsWith("The input schema of t@1.0.0 is not a valid JSON Schema:", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Hash_ChangesWithTheAssessmentSchemaAndTheDataEntryMark_AndKeepsWhatNeitherHas()
    {
        var assessed = Plain with { AssessmentSchema = """{"type":"object"}""" };
        var entry = Plain with { DataEntry = true };

        Assert.NotEqual(Plain.Hash, assessed.Hash);
        Assert.NotEqual(Plain.Hash, entry.Hash);
        // Unset, neither is written: the contracts of tools that have neither hash as they did before either existed.
        Assert.DoesNotContain("assessment", Agentic.Core.Json.AgenticJson.ToElement(Plain).GetRawText(), StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("dataEntry", Agentic.Core.Json.AgenticJson.ToElement(Plain).GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public void Registry_RefusesAToolThatDeclaresAnAssessment_ButCanNotBeAssessed()
    {
        var assessed = Plain with { AssessmentSchema = """{"type":"object"}""" };

        var ex = Assert.Throws<ArgumentException>(() => new ToolRegistry([new PlainTool(assessed)]));
        Assert.StartsWith("Tool 't' declares an assessment schema, but it can not be assessed", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Registry_ChecksAnAssessmentAgainstTheAssessmentSchema()
    {
        var assessed = Plain with { AssessmentSchema = SampleServiceTools.ContractAssessment };
        var registry = new ToolRegistry([new FakeTool(assessed, TestJson.Parse("{}"))]);

        Assert.Empty(registry.ValidateAssessment("t", TestJson.Parse("""{"riskScore":60,"riskBand":"high","factors":[{"factor":"value","points":50}]}""")));
        Assert.Equal(["$.riskBand: expected one of [\"low\", \"medium\", \"high\"], got \"extreme\"", "$.riskScore: expected at most 100, got 101"],
            registry.ValidateAssessment("t", TestJson.Parse("""{"riskScore":101,"riskBand":"extreme"}""")).Order(StringComparer.Ordinal));
    }

    private sealed class PlainTool(ToolDescriptor descriptor) : ITool
    {
        public ToolDescriptor Descriptor => descriptor;

        public Task<ToolOutcome> InvokeAsync(ToolCall invocation, CancellationToken cancellationToken) => throw new NotSupportedException();
    }
}
