using System.Text.Json;

namespace Agentic.LocalHost;

/// <summary>
/// Reads <c>local.settings.json</c> like Azure Functions Core Tools: its <c>Values</c> become configuration
/// (<c>__</c> separates sections). Falls back to <c>local.settings.sample.json</c> when there is none.
/// </summary>
internal static class LocalSettings
{
    private static readonly string[] Candidates = ["local.settings.json", "local.settings.sample.json"];

    public static (string? Path, Dictionary<string, string?> Values) Load(string? explicitPath)
    {
        var path = explicitPath ?? Candidates.FirstOrDefault(File.Exists);
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        if (path is null)
        {
            return (null, values);
        }
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Settings file '{path}' does not exist.", path);
        }
        using var document = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        if (document.RootElement.TryGetProperty("Values", out var settings) && settings.ValueKind == JsonValueKind.Object)
        {
            foreach (var setting in settings.EnumerateObject())
            {
                values[setting.Name.Replace("__", ":", StringComparison.Ordinal)] = setting.Value.ValueKind == JsonValueKind.String ? setting.Value.GetString() : setting.Value.GetRawText();
            }
        }
        return (Path.GetFullPath(path), values);
    }
}
