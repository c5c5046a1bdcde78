using System.Text.Json;
using Agentic.Core.Tools;

namespace Agentic.Core.Tests.Tools;

/// <summary>
/// Schemas from outside (an MCP server's, an agent's data contract) compile without I/O, and errors about data that must
/// not be repeated name the path, the expectation and the type found, never the value.
/// </summary>
public sealed class ToolSchemaTests
{
    [Theory]
    [InlineData("http://169.254.169.254/latest/meta-data")]
    [InlineData("file:///etc/passwd")]
    [InlineData("other.schema.json#/definitions/x")]
    public void Schema_ReferringToAnotherDocument_IsRefused_BeforeAnythingIsFetched(string reference)
    {
        var json = $$"""{ "type": "object", "properties": { "a": { "items": [{ "$ref": "{{reference}}" }] } } }""";

        var ex = Assert.Throws<ArgumentException>(() => ToolSchema.Compile(json, "input schema of x@1"));

        Assert.StartsWith($"The input schema of x@1 refers to another document ($ref '{reference}'); only references inside the schema ('#/...') are followed.", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Schema_WithReferencesInsideItself_Compiles_AndValidates()
    {
        var schema = ToolSchema.Compile("""
            { "type": "object", "properties": { "n": { "$ref": "#/definitions/small" } }, "definitions": { "small": { "type": "integer", "maximum": 3 } } }
            """, "contract");

        Assert.Empty(schema.Validate(JsonSerializer.SerializeToElement(new { n = 2 })));
        Assert.Equal(["$.n: expected at most 3, got 9"], schema.Validate(JsonSerializer.SerializeToElement(new { n = 9 })));
    }

    [Fact]
    public void Errors_WithoutQuotingValues_NameThePathExpectationAndTypeOnly()
    {
        var schema = ToolSchema.Compile("""
            { "type": "object", "properties": {
                "level": { "enum": ["low", "high"] }, "code": { "type": "string", "pattern": "^[A-Z]{3}$" },
                "count": { "type": "integer", "minimum": 10 }, "name": { "type": "string", "maxLength": 4 } } }
            """, "contract");
        var value = JsonSerializer.SerializeToElement(new { level = "sk-secret-1", code = "sk-secret-2", count = 4, name = "sk-secret-3" });

        var quoted = schema.Validate(value);
        var unquoted = schema.Validate(value, quoteValues: false);

        Assert.Contains(quoted, e => e.Contains("sk-secret", StringComparison.Ordinal));
        Assert.Equal(
            [
                "$.code: expected a string matching '^[A-Z]{3}$', got a string (not shown)",
                "$.count: expected at least 10, got an integer (not shown)",
                "$.level: expected one of [\"low\", \"high\"], got a string (not shown)",
                "$.name: expected at most 4 character(s), got 11",
            ],
            unquoted);
    }
}
