using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Agentic.Core.Json;

/// <summary>The one JSON dialect of the product: camelCase, enums as camelCase strings, nulls omitted.</summary>
public static class AgenticJson
{
    /// <summary>Options for everything persisted or sent between hosts and activities.</summary>
    public static JsonSerializerOptions Options { get; } = Create(strict: false);

    /// <summary>Options for untrusted input: unknown members are an error.</summary>
    public static JsonSerializerOptions Strict { get; } = Create(strict: true);

    private static JsonSerializerOptions Create(bool strict)
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            UnmappedMemberHandling = strict ? JsonUnmappedMemberHandling.Disallow : JsonUnmappedMemberHandling.Skip,
            MaxDepth = 32,
        };
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower));
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    /// <summary>Serializes <paramref name="value"/> to a detached <see cref="JsonElement"/>.</summary>
    public static JsonElement ToElement<T>(T value) => JsonSerializer.SerializeToElement(value, Options);

    /// <summary>Deserializes <paramref name="element"/>, failing loudly on <c>null</c>.</summary>
    public static T FromElement<T>(JsonElement element) =>
        element.Deserialize<T>(Options) ?? throw new JsonException($"Expected a {typeof(T).Name}, found null.");

    /// <summary>
    /// SHA-256 over the canonical form of <paramref name="element"/> (object members sorted by name,
    /// no insignificant white space), as lowercase hex prefixed with <c>sha256:</c>. Two argument sets
    /// that mean the same thing digest the same, whatever their member order.
    /// </summary>
    public static string Digest(JsonElement element)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            WriteCanonical(writer, element);
        }
        return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(buffer.WrittenSpan));
    }

    /// <summary>A digest cut to <c>sha256:</c> and its first 12 hex digits, for messages and logs.</summary>
    public static string ShortDigest(string digest)
    {
        ArgumentNullException.ThrowIfNull(digest);
        return digest.Length > 19 ? digest[..19] : digest;
    }

    /// <summary>SHA-256 of raw bytes in the same notation as <see cref="Digest(JsonElement)"/>.</summary>
    public static string Digest(ReadOnlySpan<byte> bytes) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>SHA-256 of a string's UTF-8 bytes.</summary>
    public static string Digest(string text) => Digest(Encoding.UTF8.GetBytes(text));

    private static void WriteCanonical(Utf8JsonWriter writer, JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                writer.WriteStartObject();
                foreach (var property in element.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal))
                {
                    writer.WritePropertyName(property.Name);
                    WriteCanonical(writer, property.Value);
                }
                writer.WriteEndObject();
                break;
            case JsonValueKind.Array:
                writer.WriteStartArray();
                foreach (var item in element.EnumerateArray())
                {
                    WriteCanonical(writer, item);
                }
                writer.WriteEndArray();
                break;
            case JsonValueKind.Undefined:
                writer.WriteNullValue();
                break;
            default:
                element.WriteTo(writer);
                break;
        }
    }
}
