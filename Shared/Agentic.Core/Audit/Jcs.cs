using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Agentic.Core.Audit;

/// <summary>
/// The JSON Canonicalization Scheme (RFC 8785): object members sorted by the UTF-16 code units of their names, no
/// insignificant white space, strings with the minimal escapes, numbers as ECMAScript prints a double. Two parties
/// that hold the same JSON value produce the same bytes, so a hash over them can be checked by anyone, in any
/// language, from the value alone. <c>docs/audit-jcs-vector.json</c> holds the RFC's example and its canonical form.
/// </summary>
public static class Jcs
{
    /// <summary>The canonical UTF-8 bytes of <paramref name="value"/>.</summary>
    public static byte[] Canonicalize(JsonElement value)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        Write(buffer, value);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The canonical bytes of <paramref name="value"/>, appended to <paramref name="output"/>.</summary>
    public static void Write(IBufferWriter<byte> output, JsonElement value)
    {
        ArgumentNullException.ThrowIfNull(output);
        var builder = new StringBuilder(256);
        Append(builder, value);
        var text = builder.ToString();
        var span = output.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length));
        output.Advance(Encoding.UTF8.GetBytes(text, span));
    }

    private static void Append(StringBuilder builder, JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
            {
                builder.Append('{');
                var first = true;
                // Ordinal compares UTF-16 code units, which is what RFC 8785 sorts by.
                foreach (var member in value.EnumerateObject().OrderBy(m => m.Name, StringComparer.Ordinal))
                {
                    if (!first)
                    {
                        builder.Append(',');
                    }
                    first = false;
                    AppendString(builder, member.Name);
                    builder.Append(':');
                    Append(builder, member.Value);
                }
                builder.Append('}');
                break;
            }
            case JsonValueKind.Array:
            {
                builder.Append('[');
                var first = true;
                foreach (var item in value.EnumerateArray())
                {
                    if (!first)
                    {
                        builder.Append(',');
                    }
                    first = false;
                    Append(builder, item);
                }
                builder.Append(']');
                break;
            }
            case JsonValueKind.String:
                string text;
                try
                {
                    text = value.GetString()!;
                }
                catch (InvalidOperationException ex)
                {
                    // JSON text that escapes a lone surrogate is not a Unicode string; I-JSON refuses it.
                    throw new ArgumentException("A string is not valid Unicode (a lone surrogate); it has no canonical form.", nameof(value), ex);
                }
                AppendString(builder, text);
                break;
            case JsonValueKind.Number:
                builder.Append(Number(value.GetDouble()));
                break;
            case JsonValueKind.True:
                builder.Append("true");
                break;
            case JsonValueKind.False:
                builder.Append("false");
                break;
            case JsonValueKind.Null:
                builder.Append("null");
                break;
            default:
                throw new ArgumentException($"A JSON value of kind {value.ValueKind} has no canonical form.", nameof(value));
        }
    }

    private static void AppendString(StringBuilder builder, string text)
    {
        builder.Append('"');
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            switch (c)
            {
                case '"': builder.Append("\\\""); break;
                case '\\': builder.Append("\\\\"); break;
                case '\b': builder.Append("\\b"); break;
                case '\f': builder.Append("\\f"); break;
                case '\n': builder.Append("\\n"); break;
                case '\r': builder.Append("\\r"); break;
                case '\t': builder.Append("\\t"); break;
                default:
                    if (c < 0x20)
                    {
                        builder.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else if (char.IsSurrogate(c) && !(char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])))
                    {
                        // A lone surrogate is not a Unicode string; I-JSON (which RFC 8785 requires) refuses it.
                        throw new ArgumentException($"A string holds a lone surrogate at position {i}; it has no canonical form.", nameof(text));
                    }
                    else
                    {
                        builder.Append(c);
                        if (char.IsHighSurrogate(c))
                        {
                            builder.Append(text[++i]);
                        }
                    }
                    break;
            }
        }
        builder.Append('"');
    }

    /// <summary>A double as ECMAScript's <c>Number.prototype.toString</c> prints it (RFC 8785, section 3.2.2.3).</summary>
    public static string Number(double value)
    {
        if (!double.IsFinite(value))
        {
            throw new ArgumentException($"{value} is not a JSON number.", nameof(value));
        }
        if (value == 0)
        {
            return "0";
        }
        // "R" gives the shortest digits that round-trip, which is what ECMAScript picks; only the layout differs.
        var negative = value < 0;
        var shortest = Math.Abs(value).ToString("R", CultureInfo.InvariantCulture);
        var (digits, exponent) = Decompose(shortest);
        // value = 0.d1d2...dk x 10^n
        var k = digits.Length;
        var n = exponent;
        var text = new StringBuilder(32);
        if (negative)
        {
            text.Append('-');
        }
        if (k <= n && n <= 21)
        {
            text.Append(digits).Append('0', n - k);
        }
        else if (0 < n && n <= 21)
        {
            text.Append(digits, 0, n).Append('.').Append(digits, n, k - n);
        }
        else if (-6 < n && n <= 0)
        {
            text.Append("0.").Append('0', -n).Append(digits);
        }
        else
        {
            text.Append(digits[0]);
            if (k > 1)
            {
                text.Append('.').Append(digits, 1, k - 1);
            }
            var e = n - 1;
            text.Append('e').Append(e >= 0 ? '+' : '-').Append(Math.Abs(e).ToString(CultureInfo.InvariantCulture));
        }
        return text.ToString();
    }

    // Splits .NET's shortest round-trip text ("123.45", "1E+30", "1.5E-07") into significant digits without leading or
    // trailing zeros and the exponent n of value = 0.digits x 10^n.
    private static (string Digits, int Exponent) Decompose(string text)
    {
        var e = text.IndexOfAny(['E', 'e']);
        var mantissa = e < 0 ? text : text[..e];
        var exponent = e < 0 ? 0 : int.Parse(text[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        var point = mantissa.IndexOf('.', StringComparison.Ordinal);
        var intPart = point < 0 ? mantissa : mantissa[..point];
        var fraction = point < 0 ? "" : mantissa[(point + 1)..];
        var all = intPart + fraction;
        var position = intPart.Length + exponent;
        var lead = 0;
        while (lead < all.Length - 1 && all[lead] == '0')
        {
            lead++;
        }
        all = all[lead..];
        position -= lead;
        all = all.TrimEnd('0');
        return (all.Length == 0 ? "0" : all, position);
    }
}
