using System.Text.Json;

namespace Agentic.Core.Tests;

internal static class TestJson
{
    /// <summary>A detached element for <paramref name="json"/>.</summary>
    public static JsonElement Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }
}
