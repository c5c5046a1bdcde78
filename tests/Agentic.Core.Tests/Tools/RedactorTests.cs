using System.Net;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Agentic.Core.Tools;
using Agentic.Core.Tools.Builtin;

namespace Agentic.Core.Tests.Tools;

/// <summary>Every form of a secret a service may echo is redacted; short secrets are handled without mangling text.</summary>
public sealed class RedactorTests
{
    // Canaries: one with characters every encoding changes, one plain.
    private const string Canary = "Canary/9+q&sk=\"K\\é-Zx_01";
    private const string Plain = "canaryplainvalue42";

    public static TheoryData<string, string> Encodings() => new()
    {
        { "exact", Canary },
        { "upper case", Canary.ToUpperInvariant() },
        { "lower case", Canary.ToLowerInvariant() },
        { "base64", Convert.ToBase64String(Encoding.UTF8.GetBytes(Canary)) },
        { "base64url", Convert.ToBase64String(Encoding.UTF8.GetBytes(Canary)).TrimEnd('=').Replace('+', '-').Replace('/', '_') },
        { "url-encoded", Uri.EscapeDataString(Canary) },
        { "form-encoded", WebUtility.UrlEncode(Canary) },
        { "url-encoded, lower-case hex", Uri.EscapeDataString(Canary).ToLowerInvariant() },
        { "json-escaped", JsonEncodedText.Encode(Canary).ToString() },
        { "json-escaped, relaxed", JsonEncodedText.Encode(Canary, JavaScriptEncoder.UnsafeRelaxedJsonEscaping).ToString() },
        { "json-escaped, solidus", JsonEncodedText.Encode(Canary).ToString().Replace("/", "\\/", StringComparison.Ordinal) },
    };

    [Theory]
    [MemberData(nameof(Encodings))]
    public void EachEncodingOfASecret_IsRedacted_AndTheTextAroundItStays(string encoding, string form)
    {
        var redactor = new Redactor([Canary]);

        var redacted = redactor.Redact($"before {form} after");

        Assert.True(redacted == "before [redacted] after", $"{encoding}: {redacted}");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Base64OfASecret_InsideALargerBase64Blob_IsRedactedAtEveryAlignment(int prefixBytes)
    {
        var redactor = new Redactor([Plain]);
        var before = new string('x', prefixBytes) + "{\"token\":\"";
        var blob = Encoding.UTF8.GetBytes(before + Plain + "\",\"user\":\"bob\"}");
        var base64 = Convert.ToBase64String(blob);
        var base64Url = base64.Replace('+', '-').Replace('/', '_').TrimEnd('=');
        // The characters whose bits all come from the secret's bytes; the one or two at each edge mix in other bytes.
        var (offset, length) = (before.Length, Plain.Length);
        var (first, end) = (((8 * offset) + 5) / 6, 8 * (offset + length) / 6);

        var redacted = redactor.Redact(base64);
        var redactedUrl = redactor.Redact(base64Url);

        Assert.Equal(base64[..first] + Redactor.Marker + base64[end..], redacted);
        Assert.Equal(base64Url[..first] + Redactor.Marker + base64Url[end..], redactedUrl);
    }

    [Fact]
    public void TextWithoutASecret_IsReturnedAsTheSameInstance()
    {
        var redactor = new Redactor([Canary, Plain]);
        var text = string.Concat(Enumerable.Repeat("an ordinary answer with nothing secret in it, ", 200));

        Assert.Same(text, redactor.Redact(text));
    }

    [Fact]
    public void OverlappingAndAdjacentForms_BecomeOneMarker()
    {
        var redactor = new Redactor([Plain, "plainvalue42-and-more"]);

        Assert.Equal("a [redacted] b", redactor.Redact("a " + Plain + Plain.ToUpperInvariant() + " b"));
        Assert.Equal("x [redacted] y", redactor.Redact("x canaryplainvalue42-and-more y"));
    }

    [Fact]
    public void ShortSecrets_AreRedactedOnlyAsWritten_AndTrivialOnesNotAtAll()
    {
        var redactor = new Redactor(["abc", "Ab12x"]);

        Assert.Equal("abc is here", redactor.Redact("abc is here"));
        Assert.Equal("key [redacted] ab12x AB12X", redactor.Redact("key Ab12x ab12x AB12X"));
        Assert.Equal("QWIxMng=", redactor.Redact(Convert.ToBase64String("Ab12x"u8.ToArray())));
    }

    [Fact]
    public void Json_RedactsValuesNamesAndNumbers_WhateverEscapesTheyUsed()
    {
        var redactor = new Redactor([Plain, "1234567890123"]);
        var json = JsonNode.Parse("""{"echo":"canary\u0070lainvalue42","canaryplainvalue42":1,"n":1234567890123,"list":["Y2FuYXJ5cGxhaW52YWx1ZTQy"]}""");

        var redacted = redactor.Redact(json)!.ToJsonString();

        Assert.Equal("""{"echo":"[redacted]","[redacted]":1,"n":"[redacted]","list":["[redacted]"]}""", redacted);
    }

    [Fact]
    public void JsonElement_WithoutASecret_IsReturnedUnchanged_AndWithOneIsRedacted()
    {
        var redactor = new Redactor([Plain]);
        var clean = TestJson.Parse("""{"a":[1,"two",{"b":null}]}""");
        var dirty = TestJson.Parse("""{"a":[1,"x canaryplainvalue42 y"]}""");

        Assert.Equal(clean.GetRawText(), redactor.Redact(clean).GetRawText());
        Assert.Equal("""{"a":[1,"x [redacted] y"]}""", redactor.Redact(dirty).GetRawText());
    }

    [Fact]
    public void Longest_CoversTheLongestForm_SoReadingPastALimitFindsAFormCutThere()
    {
        var redactor = new Redactor([Canary]);

        Assert.Equal(Redactor.Forms(Canary, full: true).Max(f => f.Length), redactor.Longest);
        Assert.True(redactor.Longest > Canary.Length);
    }

    [Fact]
    public async Task Executor_RedactsEveryToolsOutputAndErrors_NotOnlyTheBuiltInOnes()
    {
        var secrets = new MemorySecrets(("fleet-token", Plain));
        var executor = new ToolExecutor(secrets, TimeProvider.System);
        var descriptor = new ToolDescriptor("t.leaky", "1", "Echoes its secret.", RiskLevel.Low, SideEffect.ReadOnly, true, TimeSpan.FromSeconds(5), 4096) { Secrets = ["fleet-token"] };
        var base64 = Convert.ToBase64String(Encoding.UTF8.GetBytes(Plain));
        var leaky = new DelegateTool(descriptor, (call, _) => Task.FromResult(new ToolOutcome(200, "sent " + call.Secrets["fleet-token"].ToUpperInvariant(), TestJson.Parse($$"""{"auth":"Basic {{base64}}"}"""))));
        var failing = new DelegateTool(descriptor, (call, _) => throw new InvalidOperationException("rejected " + Uri.EscapeDataString(call.Secrets["fleet-token"]), new HttpRequestException(call.Secrets["fleet-token"])));
        var call = new ToolCall("run-1", "s1", "", TestJson.Parse("{}"), "run-1/s1");

        var outcome = await executor.InvokeAsync(leaky, call, TestContext.Current.CancellationToken);
        var error = await Assert.ThrowsAsync<ToolException>(() => executor.InvokeAsync(failing, call, TestContext.Current.CancellationToken));

        Assert.Equal("sent [redacted]", outcome.Summary);
        Assert.Equal("""{"auth":"Basic [redacted]"}""", outcome.Output.GetRawText());
        Assert.Equal("t.leaky failed (InvalidOperationException): rejected [redacted]", error.Message);
        Assert.Null(error.InnerException);
        Assert.True(error.Retryable);
    }
}
