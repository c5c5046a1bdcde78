using System.Globalization;
using System.Text;

namespace Agentic.Core.Runs;

/// <summary>
/// One rule for deciding whether two principal ids name the same caller, used wherever that matters: requester versus
/// approver, distinct approvers in a quorum, the owner of a run. Ids are compared after Unicode compatibility
/// normalization (NFKC, so full-width and composed or decomposed forms agree), with format characters (zero-width
/// joiners and the like, invisible in a UI) removed, and case folded. <c>ＡＬＩＣＥ</c>, <c>Alice</c> and <c>alice</c> are one
/// person; so are <c>é</c> written as one code point and as <c>e</c> plus a combining accent.
/// </summary>
public static class PrincipalIds
{
    /// <summary>Compares principal ids by <see cref="Normalize"/>.</summary>
    public static StringComparer Comparer { get; } = new NormalizedComparer();

    /// <summary>The form two ids are compared in.</summary>
    public static string Normalize(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        var compatible = id.Trim().Normalize(NormalizationForm.FormKC);
        var visible = new StringBuilder(compatible.Length);
        foreach (var c in compatible)
        {
            if (CharUnicodeInfo.GetUnicodeCategory(c) != UnicodeCategory.Format)
            {
                visible.Append(c);
            }
        }
        // Folding can produce characters that compose differently (e.g. a capital with a combining mark): normalize again.
        return visible.ToString().ToLowerInvariant().Normalize(NormalizationForm.FormKC);
    }

    /// <summary>Whether <paramref name="a"/> and <paramref name="b"/> name the same caller.</summary>
    public static bool Same(string? a, string? b) =>
        a is not null && b is not null && string.Equals(Normalize(a), Normalize(b), StringComparison.Ordinal);

    private sealed class NormalizedComparer : StringComparer
    {
        public override int Compare(string? x, string? y) =>
            string.CompareOrdinal(x is null ? null : Normalize(x), y is null ? null : Normalize(y));

        public override bool Equals(string? x, string? y) => x is null ? y is null : Same(x, y);

        public override int GetHashCode(string obj) => string.GetHashCode(Normalize(obj), StringComparison.Ordinal);
    }
}
