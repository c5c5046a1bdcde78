using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Agentic.Core.Policy.Language;

/// <summary>
/// A YAML file being read into a policy or test model: the parsed node tree, the diagnostics found so far,
/// and the positions of nodes (and of offsets inside scalars, for conditions).
/// </summary>
internal sealed class YamlSource
{
    private readonly int[] _lineStarts;

    public YamlSource(string file, string text)
    {
        File = file;
        Text = text;
        var starts = new List<int> { 0 };
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '\n')
            {
                starts.Add(i + 1);
            }
        }
        _lineStarts = [.. starts];
    }

    public string File { get; }

    public string Text { get; }

    public List<Diagnostic> Diagnostics { get; } = [];

    public bool HasErrors => Diagnostics.Count > 0;

    /// <summary>The diagnostics in file order.</summary>
    public List<Diagnostic> Sorted() => [.. Diagnostics.OrderBy(d => d.Line).ThenBy(d => d.Column)];

    public void Report(Mark mark, string code, string message) => Report((int)mark.Line, (int)mark.Column, code, message);

    public void Report(int line, int column, string code, string message) => Diagnostics.Add(new(File, line, column, code, message));

    /// <summary>The single document's root, or null (reported) when the text is not one YAML document.</summary>
    public YamlNode? Parse(string what)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(Text));
        }
        catch (YamlException ex)
        {
            const string duplicate = "Duplicate key ";
            if (ex.Message.StartsWith(duplicate, StringComparison.Ordinal))
            {
                Report(ex.Start, DiagnosticCodes.DuplicateKey, $"duplicate key '{ex.Message[duplicate.Length..]}'");
            }
            else
            {
                Report(ex.Start, DiagnosticCodes.InvalidYaml, "invalid YAML: " + (ex.InnerException?.Message ?? ex.Message));
            }
            return null;
        }
        switch (stream.Documents.Count)
        {
            case 0:
                Report(1, 1, DiagnosticCodes.InvalidDocument, $"the file is empty (expected {what})");
                return null;
            case > 1:
                Report(stream.Documents[1].RootNode.Start, DiagnosticCodes.InvalidDocument, $"the file holds {stream.Documents.Count} YAML documents (expected one: {what})");
                return null;
        }
        var root = stream.Documents[0].RootNode;
        if (root is YamlScalarNode { Value: null or "" } && root.Tag.IsEmpty)
        {
            Report(1, 1, DiagnosticCodes.InvalidDocument, $"the file is empty (expected {what})");
            return null;
        }
        return root;
    }

    /// <summary>
    /// The members of a mapping, by key. Unknown keys are reported (with the nearest known key when it looks like
    /// a typo); so are missing <paramref name="required"/> keys. Null (reported) when the node is not a mapping.
    /// </summary>
    public Dictionary<string, Member>? Mapping(YamlNode node, string what, string where, IReadOnlyList<string> allowed, IReadOnlyList<string> required)
    {
        if (node is not YamlMappingNode mapping)
        {
            Report(node.Start, DiagnosticCodes.InvalidValue, $"{what} must be a mapping");
            return null;
        }
        var members = new Dictionary<string, Member>(StringComparer.Ordinal);
        foreach (var (keyNode, value) in mapping.Children)
        {
            if (keyNode is not YamlScalarNode { Value: { } key } scalarKey)
            {
                Report(keyNode.Start, DiagnosticCodes.InvalidValue, $"keys in {where} must be names");
                continue;
            }
            if (!allowed.Contains(key, StringComparer.Ordinal))
            {
                var nearest = PolicySchema.Nearest(key, allowed);
                Report(keyNode.Start, DiagnosticCodes.UnknownKey, nearest is not null
                    ? $"unknown key '{key}' in {where} (did you mean '{nearest}'?)"
                    : $"unknown key '{key}' in {where} (expected one of: {string.Join(", ", allowed)})");
                continue;
            }
            members[key] = new Member(scalarKey, value);
        }
        foreach (var key in required)
        {
            if (!members.ContainsKey(key))
            {
                Report(mapping.Start, DiagnosticCodes.MissingKey, $"missing required key '{key}' in {where}");
            }
        }
        return members;
    }

    /// <summary>The text of a scalar member, or null (reported) when it is a list or a mapping.</summary>
    public string? Scalar(Member member, string where, string kind = "string")
    {
        if (member.Value is YamlScalarNode scalar)
        {
            return scalar.Value ?? "";
        }
        Report(member.Value.Start, DiagnosticCodes.InvalidValue, $"'{member.Key.Value}' in {where} must be a {kind}");
        return null;
    }

    /// <summary>The line and column of the character at <paramref name="offset"/> of a scalar's value.</summary>
    public (int Line, int Column) Locate(YamlScalarNode node, int offset)
    {
        var value = node.Value ?? "";
        var end = (int)Math.Min(node.End.Index, Text.Length);
        var s = (int)node.Start.Index;
        if (node.Style is ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted)
        {
            s++;
        }
        else if (node.Style is ScalarStyle.Literal or ScalarStyle.Folded)
        {
            while (s < end && Text[s] != '\n')
            {
                s++;
            }
            s++;
        }
        // The value is the source with quotes, escapes, indentation and folding removed: walk both in step,
        // taking the source character as written when it is the value's, and skipping what the scalar dropped.
        var doubleQuoted = node.Style == ScalarStyle.DoubleQuoted;
        for (var i = 0; i < value.Length && s < end; i++)
        {
            var c = value[i];
            int at;
            while (true)
            {
                if (s >= end)
                {
                    return Position(Math.Min(s, Text.Length));
                }
                var t = Text[s];
                if (t == c)
                {
                    at = s++;
                    if (c == '\'' && node.Style == ScalarStyle.SingleQuoted && s < end && Text[s] == '\'')
                    {
                        s++;
                    }
                    break;
                }
                if (doubleQuoted && t == '\\' && s + 1 < end && Unescape(Text[s + 1]) == c)
                {
                    at = s;
                    s += 2;
                    break;
                }
                if (char.IsWhiteSpace(c) && t == '\n')
                {
                    // A folded line break: the value's one space (or newline) stands for the break and the indentation after it.
                    at = s++;
                    while (s < end && Text[s] is ' ' or '\t')
                    {
                        s++;
                    }
                    break;
                }
                s++;
            }
            if (i == offset)
            {
                return Position(at);
            }
        }
        return Position(Math.Min(s, Text.Length));
    }

    private static char Unescape(char c) => c switch
    {
        'n' => '\n',
        't' => '\t',
        'r' => '\r',
        '0' => '\0',
        _ => c,
    };

    public (int Line, int Column) Position(int index)
    {
        var line = Array.BinarySearch(_lineStarts, index);
        if (line < 0)
        {
            line = ~line - 1;
        }
        return (line + 1, index - _lineStarts[line] + 1);
    }

    public static int Line(YamlNode node) => (int)node.Start.Line;

    public static int Column(YamlNode node) => (int)node.Start.Column;

    /// <summary>Ids of policies, rules and roles: letters, digits, '.', '_', ':' and '-', starting with a letter or digit.</summary>
    public static bool IsName(string value) =>
        value.Length is > 0 and <= 128 && char.IsAsciiLetterOrDigit(value[0]) && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or ':' or '-');
}

/// <summary>A member of a YAML mapping: its key node (for positions) and its value.</summary>
internal readonly record struct Member(YamlScalarNode Key, YamlNode Value);
