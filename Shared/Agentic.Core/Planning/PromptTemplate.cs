using System.Text;
using System.Text.RegularExpressions;
using Agentic.Core.Json;
using YamlDotNet.RepresentationModel;

namespace Agentic.Core.Planning;

/// <summary>
/// A versioned prompt template: a Markdown file whose front matter names it and its version, the text after it the
/// instructions a language model planner gets. Its hash covers the whole file, so the plan record names exactly the
/// text the model was given. Placeholders: <c>{{agent.name}}</c>, <c>{{agent.description}}</c>, <c>{{target}}</c>,
/// <c>{{maxSteps}}</c>. Outside content never goes into a template: it is sent as delimited data beside it.
/// </summary>
/// <param name="Id">The template's id (its file name without <c>.md</c>).</param>
/// <param name="Version">Its version, as written.</param>
/// <param name="Hash">SHA-256 of the file (<c>sha256:...</c>).</param>
/// <param name="Text">The instructions (the file after its front matter).</param>
public sealed partial record PromptTemplate(string Id, string Version, string Hash, string Text)
{
    /// <summary>The placeholders a template may use.</summary>
    public static readonly IReadOnlyList<string> Placeholders = ["agent.name", "agent.description", "target", "maxSteps"];

    /// <summary>The template's text with the placeholders filled.</summary>
    public string Render(IReadOnlyDictionary<string, string> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        return PlaceholderPattern().Replace(Text, m => values.TryGetValue(m.Groups[1].Value, out var value) ? value : m.Value);
    }

    /// <summary>Parses a template file; throws <see cref="FormatException"/> naming the file and what is wrong.</summary>
    public static PromptTemplate Parse(string file, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var normalized = text.Replace("\r\n", "\n", StringComparison.Ordinal);
        if (!normalized.StartsWith("---\n", StringComparison.Ordinal) || normalized.IndexOf("\n---\n", 3, StringComparison.Ordinal) is var end && end < 0)
        {
            throw new FormatException($"{file}: a prompt template starts with front matter between '---' lines (id, version).");
        }
        var yaml = new YamlStream();
        try
        {
            yaml.Load(new StringReader(normalized[4..end]));
        }
        catch (YamlDotNet.Core.YamlException ex)
        {
            throw new FormatException($"{file}({ex.Start.Line + 1},{ex.Start.Column}): the front matter is not YAML: {ex.Message}");
        }
        if (yaml.Documents.Count != 1 || yaml.Documents[0].RootNode is not YamlMappingNode front)
        {
            throw new FormatException($"{file}: the front matter must be a mapping with id and version.");
        }
        string? Field(string key) => front.Children.TryGetValue(new YamlScalarNode(key), out var node) && node is YamlScalarNode scalar ? scalar.Value : null;
        foreach (var key in front.Children.Keys.OfType<YamlScalarNode>().Select(k => k.Value).Where(k => k is not ("id" or "version" or "description")))
        {
            throw new FormatException($"{file}: unknown front matter key '{key}' (id, version, description).");
        }
        var id = Field("id");
        var version = Field("version");
        var expected = Path.GetFileNameWithoutExtension(file);
        if (string.IsNullOrWhiteSpace(id) || !IdPattern().IsMatch(id))
        {
            throw new FormatException($"{file}: 'id' is required: 1 to 64 letters, digits, '.', '_' or '-'.");
        }
        if (!string.Equals(id, expected, StringComparison.Ordinal))
        {
            throw new FormatException($"{file}: 'id' is '{id}' but the file is named '{expected}.md'; they must agree.");
        }
        if (string.IsNullOrWhiteSpace(version))
        {
            throw new FormatException($"{file}: 'version' is required.");
        }
        var body = normalized[(end + 5)..].Trim();
        if (body.Length == 0)
        {
            throw new FormatException($"{file}: the template has no text after its front matter.");
        }
        foreach (Match placeholder in PlaceholderPattern().Matches(body))
        {
            if (!Placeholders.Contains(placeholder.Groups[1].Value, StringComparer.Ordinal))
            {
                throw new FormatException($"{file}: unknown placeholder '{{{{{placeholder.Groups[1].Value}}}}}' (known: {string.Join(", ", Placeholders.Select(p => "{{" + p + "}}"))}).");
            }
        }
        return new PromptTemplate(id, version, AgenticJson.Digest(Encoding.UTF8.GetBytes(text)), body);
    }

    [GeneratedRegex(@"\{\{\s*([A-Za-z.]+)\s*\}\}")]
    private static partial Regex PlaceholderPattern();

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    private static partial Regex IdPattern();
}

/// <summary>
/// The prompt templates a host knows: the shipped ones (embedded from <c>prompts/</c>) or, when
/// <c>Agentic:Prompts:Path</c> names a directory, every <c>*.md</c> in it. A template that does not parse stops the host.
/// </summary>
public sealed class PromptTemplates
{
    private readonly Dictionary<string, PromptTemplate> _templates;

    private PromptTemplates(IEnumerable<PromptTemplate> templates) =>
        _templates = templates.ToDictionary(t => t.Id, StringComparer.Ordinal);

    /// <summary>The templates, by id.</summary>
    public IReadOnlyCollection<PromptTemplate> All => _templates.Values;

    /// <summary>Whether a template with this id exists.</summary>
    public bool Contains(string id) => _templates.ContainsKey(id);

    /// <summary>The template <paramref name="id"/>.</summary>
    public PromptTemplate Get(string id) =>
        _templates.TryGetValue(id, out var template) ? template : throw new KeyNotFoundException($"No prompt template '{id}' (known: {string.Join(", ", _templates.Keys.Order(StringComparer.Ordinal))}).");

    /// <summary>The templates in <paramref name="directory"/>, or the shipped ones when it is null.</summary>
    public static PromptTemplates Load(string? directory)
    {
        if (directory is not null)
        {
            if (!Directory.Exists(directory))
            {
                throw new FormatException($"Agentic:Prompts:Path: the directory '{directory}' does not exist.");
            }
            return new PromptTemplates(Directory.EnumerateFiles(directory, "*.md").Order(StringComparer.Ordinal)
                .Where(f => !string.Equals(Path.GetFileName(f), "README.md", StringComparison.OrdinalIgnoreCase))
                .Select(f => PromptTemplate.Parse(f, File.ReadAllText(f))));
        }
        var assembly = typeof(PromptTemplates).Assembly;
        const string prefix = "Agentic.Core.prompts.";
        return new PromptTemplates(assembly.GetManifestResourceNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal).Select(name =>
        {
            using var reader = new StreamReader(assembly.GetManifestResourceStream(name)!);
            return PromptTemplate.Parse(name[prefix.Length..], reader.ReadToEnd());
        }));
    }
}
