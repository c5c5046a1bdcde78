using System.Text;
using System.Text.Json;
using Agentic.Core.Audit;
using Agentic.Testing;

namespace Agentic.Core.Tests.Audit;

public sealed class JcsTests
{
    public static TheoryData<string> Vectors()
    {
        var data = new TheoryData<string>();
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(Repo.Root, "docs", "audit-jcs-vector.json")));
        foreach (var vector in document.RootElement.GetProperty("vectors").EnumerateArray())
        {
            data.Add(vector.GetProperty("name").GetString()!);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Canonicalize_GivesTheDocumentedBytes_ForEachVectorInTheRepository(string name)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(Repo.Root, "docs", "audit-jcs-vector.json")));
        var vector = document.RootElement.GetProperty("vectors").EnumerateArray().Single(v => v.GetProperty("name").GetString() == name);
        using var input = JsonDocument.Parse(vector.GetProperty("input").GetString()!);

        var canonical = Encoding.UTF8.GetString(Jcs.Canonicalize(input.RootElement));

        Assert.Equal(vector.GetProperty("canonical").GetString(), canonical);
    }

    [Theory]
    [InlineData("{\"b\":1,\"a\":2}", "{\"a\":2,\"b\":1}")]
    [InlineData("{ \"a\" : [ 1 , 2.0 , \"x\" ] }", "{\"a\":[1,2,\"x\"]}")]
    [InlineData("\"\\u00e9\\u2028\"", "\"\u00e9\u2028\"")]
    [InlineData("\"\\u001f\"", "\"\\u001f\"")]
    public void Canonicalize_SortsMembersDropsWhiteSpaceAndEscapesMinimally(string input, string expected)
    {
        using var document = JsonDocument.Parse(input);
        Assert.Equal(expected, Encoding.UTF8.GetString(Jcs.Canonicalize(document.RootElement)));
    }

    [Fact]
    public void Canonicalize_RefusesALoneSurrogate()
    {
        using var document = JsonDocument.Parse("\"\\ud800x\"");
        Assert.Throws<ArgumentException>(() => Jcs.Canonicalize(document.RootElement));
    }

    [Theory]
    [InlineData(1e21, "1e+21")]
    [InlineData(1e-7, "1e-7")]
    [InlineData(123e-20, "1.23e-18")]
    [InlineData(0.000001, "0.000001")]
    [InlineData(-1.5, "-1.5")]
    [InlineData(4.35, "4.35")]
    public void Number_PrintsAsECMAScriptDoes(double value, string expected) => Assert.Equal(expected, Jcs.Number(value));
}
