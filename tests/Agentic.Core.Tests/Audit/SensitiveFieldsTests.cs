using System.Text.Json;
using Agentic.Core.Audit;
using Agentic.Core.Json;

namespace Agentic.Core.Tests.Audit;

public sealed class SensitiveFieldsTests
{
    private const string Schema = """
        {
          "type": "object",
          "properties": {
            "ticket": { "type": "string" },
            "customerEmail": { "type": "string", "x-sensitive": true },
            "contact": { "type": "object", "properties": { "phone": { "type": "string", "x-sensitive": true }, "name": { "type": "string" } } },
            "notes": { "type": "array", "items": { "type": "object", "properties": { "body": { "type": "string", "x-sensitive": true } } } }
          }
        }
        """;

    [Fact]
    public void Minimize_ReplacesEveryMarkedField_ByItsDigest_AndKeepsTheRest()
    {
        var args = JsonDocument.Parse("""
            { "ticket": "INC-1", "customerEmail": "ada@example.com", "contact": { "phone": "+44 20 7946 0000", "name": "Ada" },
              "notes": [ { "body": "door code 4711" }, { "body": "second" } ] }
            """).RootElement;

        var minimized = SensitiveFields.Minimize(args, Schema)!.ToJsonString();

        Assert.DoesNotContain("ada@example.com", minimized, StringComparison.Ordinal);
        Assert.DoesNotContain("7946", minimized, StringComparison.Ordinal);
        Assert.DoesNotContain("4711", minimized, StringComparison.Ordinal);
        Assert.Contains("INC-1", minimized, StringComparison.Ordinal);
        Assert.Contains("Ada", minimized, StringComparison.Ordinal);
        // The digest is the one anyone holding the value computes: the audit can prove which value was used.
        Assert.Contains(AgenticJson.Digest(JsonDocument.Parse("\"ada@example.com\"").RootElement), minimized, StringComparison.Ordinal);
    }

    [Fact]
    public void Minimize_WithoutASchema_KeepsTheArguments()
    {
        var args = JsonDocument.Parse("""{ "a": 1 }""").RootElement;
        Assert.Equal("""{"a":1}""", SensitiveFields.Minimize(args, null)!.ToJsonString());
    }
}
