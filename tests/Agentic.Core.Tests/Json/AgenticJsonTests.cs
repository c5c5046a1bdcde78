using System.Text;
using System.Text.Json;
using Agentic.Core.Agents;
using Agentic.Core.Json;

namespace Agentic.Core.Tests.Json;

public sealed class AgenticJsonTests
{
    [Fact]
    public void Digest_IgnoresMemberOrder_AtEveryDepth()
    {
        var a = TestJson.Parse("""{"b":1,"a":{"y":[1,{"q":true,"p":null}],"x":"s"}}""");
        var b = TestJson.Parse("""{"a":{"x":"s","y":[1,{"p":null,"q":true}]},"b":1}""");

        Assert.Equal(AgenticJson.Digest(a), AgenticJson.Digest(b));
    }

    [Fact]
    public void Digest_IgnoresInsignificantWhiteSpace()
    {
        Assert.Equal(AgenticJson.Digest(TestJson.Parse("""{"a":[1,2]}""")), AgenticJson.Digest(TestJson.Parse("{ \"a\" :\n [ 1 , 2 ] }")));
    }

    [Theory]
    [InlineData("""{"a":[1,2]}""", """{"a":[2,1]}""")]
    [InlineData("""{"a":1}""", """{"a":2}""")]
    [InlineData("""{"a":1}""", """{"a":"1"}""")]
    [InlineData("""{"a":1}""", """{"A":1}""")]
    [InlineData("""{"a":1}""", """{"a":1,"b":null}""")]
    public void Digest_DiffersWhenTheMeaningDiffers(string left, string right)
    {
        Assert.NotEqual(AgenticJson.Digest(TestJson.Parse(left)), AgenticJson.Digest(TestJson.Parse(right)));
    }

    [Fact]
    public void Digest_IsSha256OfTheCanonicalForm_InLowercaseHex()
    {
        var digest = AgenticJson.Digest(TestJson.Parse("""{ "b": 2, "a": 1 }"""));

        Assert.Equal(AgenticJson.Digest(Encoding.UTF8.GetBytes("""{"a":1,"b":2}""")), digest);
        Assert.Matches("^sha256:[0-9a-f]{64}$", digest);
    }

    [Fact]
    public void Digest_OfText_IsTheDigestOfItsUtf8Bytes()
    {
        Assert.Equal(AgenticJson.Digest(Encoding.UTF8.GetBytes("héllo")), AgenticJson.Digest("héllo"));
    }

    [Fact]
    public void ToElement_WritesCamelCase_KebabEnums_AndOmitsNulls()
    {
        var element = AgenticJson.ToElement(new { StepId = "s1", Effect = GateEffect.RequireApproval, Comment = (string?)null });

        Assert.Equal("""{"stepId":"s1","effect":"require-approval"}""", element.GetRawText());
    }

    [Fact]
    public void RecordsWithNullMembers_RoundTrip()
    {
        var at = new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var decision = new GateDecision("r", "s1", "sample.health", "1.0.0", "sha256:x", GateEffect.Permit, "baseline", "1", "permit-read-only", "reads", null, at);

        AssertRoundTrips(decision);
        AssertRoundTrips(new ApprovalDecision("approve", "bob", ["operator"], "sha256:x", null, at));
        AssertRoundTrips(new ActInput("r", "s1", "http://svc.test", "sample.health", TestJson.Parse("{}"), "sha256:x", decision, null));
        AssertRoundTrips(new ActResult("sample.health", "1.0.0", null, "done", TestJson.Parse("{}"), false));
        AssertRoundTrips(new PlanInput("r", "diagnostics", null, "http://svc.test", null, new Observation("probe", at, "d", true, "ok", TestJson.Parse("{}"))));
        Assert.Null(AgenticJson.FromElement<GateDecision>(AgenticJson.ToElement(decision)).ApproverRole);
    }

    [Fact]
    public void FromElement_OfJsonNull_Throws()
    {
        Assert.Throws<JsonException>(() => AgenticJson.FromElement<Observation>(TestJson.Parse("null")));
    }

    [Fact]
    public void Strict_RejectsUnknownMembers_WhereOptionsSkipsThem()
    {
        const string Json = """{"source":"s","observedAt":"2025-01-01T00:00:00Z","digest":"d","healthy":true,"status":"ok","details":{},"extra":1}""";

        Assert.Equal("ok", JsonSerializer.Deserialize<Observation>(Json, AgenticJson.Options)?.Status);
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<Observation>(Json, AgenticJson.Strict));
    }

    private static void AssertRoundTrips<T>(T value)
    {
        var element = AgenticJson.ToElement(value);

        Assert.Equal(element.GetRawText(), AgenticJson.ToElement(AgenticJson.FromElement<T>(element)).GetRawText());
    }
}
