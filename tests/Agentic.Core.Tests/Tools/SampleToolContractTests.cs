using Agentic.Core.Tools;

namespace Agentic.Core.Tests.Tools;

public sealed class SampleToolContractTests
{
    private static ToolDescriptor Sample(string name) => SampleServiceTools.Descriptors.Single(d => d.Name == name);

    [Theory]
    [InlineData("sample.health", 1.0)]
    [InlineData("sample.diagnostics", 1.0)]
    [InlineData("sample.restart", 5.0)]
    [InlineData("sample.scale", 3.0)]
    public void EverySampleTool_IsVersion120_WithACostAndTags(string name, double cost)
    {
        var d = Sample(name);

        Assert.Equal("1.2.0", d.Version);
        Assert.Equal(cost, d.Cost);
        Assert.Contains("sample", d.Tags!);
    }

    [Fact]
    public void Scale_IsCompensatedByItself_AndLimited()
    {
        var d = Sample("sample.scale");

        Assert.Equal("sample.scale", d.CompensatingTool);
        Assert.Equal(4, d.MaxConcurrency);
        Assert.Equal(new ToolRateLimit(60, TimeSpan.FromMinutes(1)), d.RateLimit);
    }

    [Fact]
    public void ScaleCompensation_RestoresThePreviousReplicas_OrIsNullWithoutThem()
    {
        var undo = SampleServiceTools.ScaleCompensation(TestJson.Parse("""{"replicas":5,"previousReplicas":2}"""));

        Assert.Equal("sample.scale", undo?.Tool);
        Assert.Equal("""{"replicas":2}""", undo?.Arguments.GetRawText());
        Assert.Null(SampleServiceTools.ScaleCompensation(TestJson.Parse("""{"replicas":5}""")));
        Assert.Null(SampleServiceTools.ScaleCompensation(TestJson.Parse("""{"previousReplicas":"2"}""")));
        Assert.Null(SampleServiceTools.ScaleCompensation(TestJson.Parse("""{"previousReplicas":101}""")));
    }
}
