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
}
