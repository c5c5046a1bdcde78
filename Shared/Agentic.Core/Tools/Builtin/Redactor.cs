using System.Net;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Agentic.Core.Tools.Builtin;

/// <summary>
/// Takes secret values out of whatever a tool returns or reports. A service that echoes the request's headers (or an
/// error page quoting them) must not carry a secret into an outcome, a summary, an exception message, a log line or a
/// run document, however it spelled the value.
/// </summary>
/// <remarks>
/// <para>
/// Each secret of at least <see cref="MinimumLength"/> characters is redacted in every form a service is likely to echo
/// it in, compared without regard to case: its exact text; its UTF-8 bytes in base64 (padded) and base64url (unpadded);
/// inside a longer base64 or base64url text (a secret inside a larger encoded blob is spelled one of three ways,
/// depending on where it falls in a 3-byte group: for each, the characters determined by the secret's bytes alone);
/// URL-encoded (<c>%XX</c> and form encoding with <c>+</c>); and JSON-escaped (default and relaxed escaping, and with
/// <c>\/</c>).
/// </para>
/// <para>
/// Shorter secrets can not be told apart from ordinary text in those forms (a 5-byte secret's base64 inside a blob is
/// 5 characters that occur by chance): a secret of <see cref="ShortestRedacted"/> to <see cref="MinimumLength"/> - 1
/// characters is redacted only where its exact, URL-encoded or JSON-escaped text appears with the same case, and one
/// shorter than <see cref="ShortestRedacted"/> is not redacted at all, since taking out every "ab" would turn any
/// output into nonsense while protecting nothing.
/// </para>
/// <para>
/// All forms of all secrets are found in one pass over the text (Aho-Corasick over the case-folded text); a text
/// without any of them is returned as the same instance. Overlapping and adjacent matches become one
/// <see cref="Marker"/>.
/// </para>
/// </remarks>
internal sealed class Redactor
{
    /// <summary>What a redacted value is replaced with.</summary>
    public const string Marker = "[redacted]";

    /// <summary>Secrets at least this long are redacted in every form, without regard to case.</summary>
    public const int MinimumLength = 8;

    /// <summary>Secrets shorter than this are not redacted.</summary>
    public const int ShortestRedacted = 4;

    private static readonly JavaScriptEncoder[] JsonEncoders = [JavaScriptEncoder.Default, JavaScriptEncoder.UnsafeRelaxedJsonEscaping];

    private readonly Matcher? _matcher;

    public Redactor(IEnumerable<string> secretValues)
    {
        ArgumentNullException.ThrowIfNull(secretValues);
        var forms = new Dictionary<string, bool>(StringComparer.Ordinal);
        foreach (var secret in secretValues.Where(v => v is not null && v.Length >= ShortestRedacted).Distinct(StringComparer.Ordinal))
        {
            var full = secret.Length >= MinimumLength;
            foreach (var form in Forms(secret, full))
            {
                // Keyed by the form as matched: case-folded for forms compared without regard to case.
                var key = full ? Fold(form) : form;
                forms[key] = forms.TryGetValue(key, out var ignoreCase) ? ignoreCase || full : full;
            }
        }
        if (forms.Count > 0)
        {
            _matcher = new Matcher([.. forms.Select(f => (f.Key, f.Value))]);
            Longest = forms.Keys.Max(f => f.Length);
        }
    }

    /// <summary>
    /// The length of the longest form this redactor takes out, in characters: text read up to a limit must be read this
    /// much further, so a form cut in half at the limit is still found.
    /// </summary>
    public int Longest { get; }

    /// <summary>Whether there is anything to redact at all.</summary>
    public bool IsEmpty => _matcher is null;

    /// <summary>Whether any form of any secret occurs in <paramref name="text"/>.</summary>
    public bool Finds(string? text) => _matcher is not null && !string.IsNullOrEmpty(text) && _matcher.Matches(text);

    /// <summary><paramref name="text"/> with every form of every secret replaced by <see cref="Marker"/>; the same instance when none occurs.</summary>
    public string Redact(string text)
    {
        if (_matcher is null || string.IsNullOrEmpty(text))
        {
            return text;
        }
        return _matcher.Replace(text);
    }

    /// <summary>A copy of <paramref name="node"/> with every string value and member name redacted.</summary>
    public JsonNode? Redact(JsonNode? node)
    {
        if (_matcher is null || node is null)
        {
            return node;
        }
        switch (node)
        {
            case JsonObject obj:
                var copy = new JsonObject();
                foreach (var (name, value) in obj)
                {
                    // Two names that redact alike would collide: the later one is kept.
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
            case JsonValue value when value.GetValueKind() == JsonValueKind.Number && value.ToJsonString() is var number && Redact(number) != number:
                // A numeric secret echoed as a JSON number.
                return JsonValue.Create(Redact(number));
            default:
                return node;
        }
    }

    /// <summary>
    /// <paramref name="element"/> with every string value, member name and number that holds a secret redacted; the same
    /// element when none does (decoded values are checked, so no JSON escape hides a secret).
    /// </summary>
    public JsonElement Redact(JsonElement element)
    {
        if (_matcher is null || element.ValueKind == JsonValueKind.Undefined || !Holds(element))
        {
            return element;
        }
        return JsonSerializer.SerializeToElement(Redact(JsonNode.Parse(element.GetRawText())));
    }

    private bool Holds(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var member in element.EnumerateObject())
                {
                    if (_matcher!.Matches(member.Name) || Holds(member.Value))
                    {
                        return true;
                    }
                }
                return false;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    if (Holds(item))
                    {
                        return true;
                    }
                }
                return false;
            case JsonValueKind.String:
                return _matcher!.Matches(element.GetString()!);
            case JsonValueKind.Number:
                return _matcher!.Matches(element.GetRawText());
            default:
                return false;
        }
    }

    private static string Fold(string text) => text.ToLowerInvariant();

    /// <summary>Every form <paramref name="secret"/> is redacted in; base64 forms and case-insensitive matching only when <paramref name="full"/>.</summary>
    internal static IEnumerable<string> Forms(string secret, bool full)
    {
        yield return secret;
        yield return Uri.EscapeDataString(secret);
        yield return WebUtility.UrlEncode(secret);
        foreach (var encoder in JsonEncoders)
        {
            var escaped = JsonEncodedText.Encode(secret, encoder).ToString();
            yield return escaped;
            yield return escaped.Replace("/", "\\/", StringComparison.Ordinal);
        }
        if (!full)
        {
            yield break;
        }
        var bytes = Encoding.UTF8.GetBytes(secret);
        var base64 = Convert.ToBase64String(bytes);
        yield return base64;
        yield return Url(base64).TrimEnd('=');
        // Inside a longer blob the secret starts at byte 0, 1 or 2 of a 3-byte group. Encoded behind that many other
        // bytes, the characters whose 6 bits all come from the secret are the same whatever the other bytes are.
        for (var shift = 0; shift < 3; shift++)
        {
            var shifted = new byte[shift + bytes.Length];
            bytes.CopyTo(shifted, shift);
            var encoded = Convert.ToBase64String(shifted);
            var first = ((8 * shift) + 5) / 6;
            var end = 8 * (shift + bytes.Length) / 6;
            var core = encoded[first..end];
            yield return core;
            yield return Url(core);
        }

        static string Url(string base64) => base64.Replace('+', '-').Replace('/', '_');
    }

    /// <summary>
    /// Aho-Corasick over case-folded text. Every pattern is stored case-folded; one that must match with its case (a short
    /// secret's) is checked against the original text when found.
    /// </summary>
    private sealed class Matcher
    {
        private readonly List<Node> _nodes = [new Node()];
        private readonly string[] _patterns;
        private readonly bool[] _ignoreCase;
        private readonly int _shortest;

        public Matcher(IReadOnlyList<(string Pattern, bool IgnoreCase)> patterns)
        {
            _patterns = new string[patterns.Count];
            _ignoreCase = new bool[patterns.Count];
            _shortest = int.MaxValue;
            for (var i = 0; i < patterns.Count; i++)
            {
                var (pattern, ignoreCase) = patterns[i];
                _patterns[i] = pattern;
                _ignoreCase[i] = ignoreCase;
                _shortest = Math.Min(_shortest, pattern.Length);
                var node = 0;
                foreach (var c in pattern)
                {
                    var folded = char.ToLowerInvariant(c);
                    var next = _nodes[node].Child(folded);
                    if (next < 0)
                    {
                        next = _nodes.Count;
                        _nodes.Add(new Node());
                        _nodes[node].Add(folded, next);
                    }
                    node = next;
                }
                if (_nodes[node].Pattern is var same and >= 0)
                {
                    // Two case-sensitive patterns that differ only in case: both spellings must go, so neither keeps its case.
                    _ignoreCase[same] = true;
                    continue;
                }
                _nodes[node].Pattern = i;
            }
            Link();
        }

        /// <summary>Whether any pattern occurs in <paramref name="text"/>.</summary>
        public bool Matches(string text)
        {
            if (text.Length < _shortest)
            {
                return false;
            }
            var state = 0;
            for (var i = 0; i < text.Length; i++)
            {
                state = Step(state, char.ToLowerInvariant(text[i]));
                if (LongestAt(state, text, i) > 0)
                {
                    return true;
                }
            }
            return false;
        }

        public string Replace(string text)
        {
            if (text.Length < _shortest)
            {
                return text;
            }
            // starts[i]: where the longest match ending at i begins (or -1). Recorded in one pass, then merged.
            int[]? starts = null;
            var state = 0;
            for (var i = 0; i < text.Length; i++)
            {
                state = Step(state, char.ToLowerInvariant(text[i]));
                var length = LongestAt(state, text, i);
                if (length > 0)
                {
                    if (starts is null)
                    {
                        starts = new int[text.Length];
                        Array.Fill(starts, -1);
                    }
                    starts[i] = i - length + 1;
                }
            }
            if (starts is null)
            {
                return text;
            }
            // Right to left: a position is covered when some match ending at or after it starts at or before it.
            var covered = new bool[text.Length];
            var from = int.MaxValue;
            for (var i = text.Length - 1; i >= 0; i--)
            {
                if (starts[i] >= 0)
                {
                    from = Math.Min(from, starts[i]);
                }
                covered[i] = from <= i;
            }
            var result = new StringBuilder(text.Length);
            for (var i = 0; i < text.Length; i++)
            {
                if (!covered[i])
                {
                    result.Append(text[i]);
                }
                else if (i == 0 || !covered[i - 1])
                {
                    result.Append(Marker);
                }
            }
            return result.ToString();
        }

        // The longest pattern ending at position i in this state, checked against the original text where case matters.
        private int LongestAt(int state, string text, int i)
        {
            for (var node = _nodes[state].Pattern >= 0 ? state : _nodes[state].Output; node > 0; node = _nodes[node].Output)
            {
                var pattern = _nodes[node].Pattern;
                if (_ignoreCase[pattern] || string.CompareOrdinal(text, i - _patterns[pattern].Length + 1, _patterns[pattern], 0, _patterns[pattern].Length) == 0)
                {
                    return _patterns[pattern].Length;
                }
            }
            return 0;
        }

        private int Step(int state, char c)
        {
            while (true)
            {
                var next = _nodes[state].Child(c);
                if (next >= 0)
                {
                    return next;
                }
                if (state == 0)
                {
                    return 0;
                }
                state = _nodes[state].Fail;
            }
        }

        private void Link()
        {
            var queue = new Queue<int>();
            foreach (var (_, child) in _nodes[0].Children())
            {
                _nodes[child].Fail = 0;
                queue.Enqueue(child);
            }
            while (queue.Count > 0)
            {
                var node = queue.Dequeue();
                foreach (var (c, child) in _nodes[node].Children())
                {
                    var fail = _nodes[node].Fail;
                    while (fail > 0 && _nodes[fail].Child(c) < 0)
                    {
                        fail = _nodes[fail].Fail;
                    }
                    var target = _nodes[fail].Child(c);
                    _nodes[child].Fail = target >= 0 && target != child ? target : 0;
                    // The nearest shorter pattern ending here, through the failure links.
                    var f = _nodes[child].Fail;
                    _nodes[child].Output = _nodes[f].Pattern >= 0 ? f : _nodes[f].Output;
                    queue.Enqueue(child);
                }
            }
        }
    }

    private sealed class Node
    {
        // Most nodes have one child (patterns are chains); the root has many, kept in a table for ASCII.
        private char[] _keys = [];
        private int[] _values = [];
        private int[]? _ascii;

        public int Fail { get; set; }

        public int Output { get; set; }

        public int Pattern { get; set; } = -1;

        public int Child(char c)
        {
            if (_ascii is not null && c < 128)
            {
                return _ascii[c];
            }
            for (var i = 0; i < _keys.Length; i++)
            {
                if (_keys[i] == c)
                {
                    return _values[i];
                }
            }
            return -1;
        }

        public void Add(char c, int child)
        {
            _keys = [.. _keys, c];
            _values = [.. _values, child];
            if (_keys.Length > 8 && _ascii is null)
            {
                _ascii = new int[128];
                Array.Fill(_ascii, -1);
                for (var i = 0; i < _keys.Length; i++)
                {
                    if (_keys[i] < 128)
                    {
                        _ascii[_keys[i]] = _values[i];
                    }
                }
            }
            else if (_ascii is not null && c < 128)
            {
                _ascii[c] = child;
            }
        }

        public IEnumerable<(char, int)> Children() => _keys.Zip(_values);
    }
}
