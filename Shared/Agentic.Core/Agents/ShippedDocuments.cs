namespace Agentic.Core.Agents;

/// <summary>The shipped YAML documents embedded in <c>Agentic.Core</c> (the agents, the monitors), read in name order.</summary>
internal static class ShippedDocuments
{
    /// <summary>
    /// Every embedded <c>.yaml</c> resource whose name starts with <paramref name="prefix"/>, named as the file it came
    /// from (<paramref name="folder"/> and the rest of the resource name) with its text.
    /// </summary>
    public static List<(string File, string Text)> Read(string prefix, string folder)
    {
        var assembly = typeof(ShippedDocuments).Assembly;
        return [.. assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(prefix, StringComparison.Ordinal) && n.EndsWith(".yaml", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(n =>
            {
                using var stream = assembly.GetManifestResourceStream(n)!;
                using var reader = new StreamReader(stream);
                return (File: folder + n[prefix.Length..], Text: reader.ReadToEnd());
            })];
    }
}
