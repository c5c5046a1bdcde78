using System.Text.Json.Nodes;

namespace Agentic.Core.Tools.Builtin;

/// <summary>
/// Takes secret values out of whatever a tool returns or reports. A service that echoes the request's headers (or an
/// error page quoting them) must not carry a secret into an outcome, a summary or an exception message.
/// </summary>
internal sealed class Redactor
{
    public const string Marker = "[redacted]";

    private readonly string[] _values;

    public Redactor(IEnumerable<string> secretValues)
    {
        // Longest first, so a secret that contains another is replaced whole.
        _values = [.. secretValues.Where(v => v.Length > 0).Distinct(StringComparer.Ordinal).OrderByDescending(v => v.Length)];
        Longest = _values.Length == 0 ? 0 : _values[0].Length;
    }

    /// <summary>The length of the longest secret, in characters.</summary>
    public int Longest { get; }

    public string Redact(string text)
    {
        foreach (var value in _values)
        {
            text = text.Replace(value, Marker, StringComparison.Ordinal);
        }
        return text;
    }

    public JsonNode? Redact(JsonNode? node)
    {
        if (_values.Length == 0 || node is null)
        {
            return node;
        }
        switch (node)
        {
            case JsonObject obj:
                var copy = new JsonObject();
                foreach (var (name, value) in obj)
                {
                    copy[Redact(name)] = Redact(value?.DeepClone());
                }
                return copy;
            case JsonArray array:
                var items = new JsonArray();
                foreach (var item in array)
                {
                    items.Add(Redact(item?.DeepClone()));
                }
                return items;
            case JsonValue value when value.TryGetValue<string>(out var s):
                return JsonValue.Create(Redact(s));
            default:
                return node;
        }
    }
}
