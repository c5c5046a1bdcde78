namespace Agentic.Core.Policy.Language;

/// <summary>
/// A <c>matches</c> pattern: <c>*</c> is any run of characters (including none), <c>?</c> exactly one,
/// <c>\</c> makes the next character literal. Matching is ordinal and whole-string, and allocates nothing.
/// </summary>
internal sealed class Glob
{
    private enum Shape
    {
        Exact,
        Prefix,
        Suffix,
        Contains,
        General,
    }

    private const byte Literal = 0, AnyOne = 1, AnyRun = 2;

    private readonly Shape _shape;
    private readonly string _fixed = "";
    private readonly char[] _chars;
    private readonly byte[] _kinds;

    public Glob(string pattern)
    {
        Pattern = pattern;
        var chars = new List<char>();
        var kinds = new List<byte>();
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '\\' && i + 1 < pattern.Length)
            {
                chars.Add(pattern[++i]);
                kinds.Add(Literal);
            }
            else if (c == '*')
            {
                if (kinds.Count == 0 || kinds[^1] != AnyRun)
                {
                    chars.Add('*');
                    kinds.Add(AnyRun);
                }
            }
            else
            {
                chars.Add(c);
                kinds.Add(c == '?' ? AnyOne : Literal);
            }
        }
        _chars = [.. chars];
        _kinds = [.. kinds];

        var stars = kinds.Count(k => k == AnyRun);
        var ones = kinds.Count(k => k == AnyOne);
        var literal = new string([.. chars.Where((_, i) => kinds[i] == Literal)]);
        var n = kinds.Count;
        (_shape, _fixed) = (stars, ones) switch
        {
            (0, 0) => (Shape.Exact, literal),
            (1, 0) when kinds[n - 1] == AnyRun => (Shape.Prefix, literal),
            (1, 0) when kinds[0] == AnyRun => (Shape.Suffix, literal),
            (2, 0) when n >= 2 && kinds[0] == AnyRun && kinds[n - 1] == AnyRun => (Shape.Contains, literal),
            _ => (Shape.General, ""),
        };
    }

    public string Pattern { get; }

    public bool IsMatch(string text) => _shape switch
    {
        Shape.Exact => string.Equals(text, _fixed, StringComparison.Ordinal),
        Shape.Prefix => text.StartsWith(_fixed, StringComparison.Ordinal),
        Shape.Suffix => text.EndsWith(_fixed, StringComparison.Ordinal),
        Shape.Contains => text.Contains(_fixed, StringComparison.Ordinal),
        _ => MatchGeneral(text),
    };

    // Greedy with one backtrack point (the last '*'): O(n*m) worst case, no recursion, no allocation.
    private bool MatchGeneral(string text)
    {
        int p = 0, s = 0, star = -1, starText = 0;
        var n = _kinds.Length;
        while (s < text.Length)
        {
            if (p < n && (_kinds[p] == AnyOne || (_kinds[p] == Literal && _chars[p] == text[s])))
            {
                p++;
                s++;
            }
            else if (p < n && _kinds[p] == AnyRun)
            {
                star = p++;
                starText = s;
            }
            else if (star >= 0)
            {
                p = star + 1;
                s = ++starText;
            }
            else
            {
                return false;
            }
        }
        while (p < n && _kinds[p] == AnyRun)
        {
            p++;
        }
        return p == n;
    }
}
