using System.Globalization;
using System.Text.Json;
using NJsonSchema;
using NJsonSchema.Validation;

namespace Agentic.Core.Tools;

/// <summary>
/// A JSON Schema of a tool contract, compiled once (by the <see cref="ToolRegistry"/> that holds the tool) and
/// then only evaluated. Errors read <c>$.path: what was expected, what was found</c>, so a refusal names the exact
/// member a planner got wrong.
/// </summary>
public sealed class ToolSchema
{
    private readonly JsonSchema _schema;

    private ToolSchema(JsonSchema schema) => _schema = schema;

    /// <summary>
    /// Compiles <paramref name="schemaJson"/>; throws <see cref="ArgumentException"/> naming <paramref name="what"/> when
    /// it is not a valid schema, or when it refers to another document (a <c>$ref</c> that does not start with '#').
    /// </summary>
    public static ToolSchema Compile(string schemaJson, string what)
    {
        ArgumentNullException.ThrowIfNull(schemaJson);
        try
        {
            // NJsonSchema would fetch a $ref to a URL or a file while compiling: a schema from outside (an MCP server's, an
            // agent's data contract) could make the host read a file or call an address. Only references inside the
            // document are followed, so this completes without I/O.
            using (var document = JsonDocument.Parse(schemaJson))
            {
                if (ExternalReference(document.RootElement) is { } reference)
                {
                    throw new ArgumentException($"The {what} refers to another document ($ref '{reference}'); only references inside the schema ('#/...') are followed.", nameof(schemaJson));
                }
            }
            return new(JsonSchema.FromJsonAsync(schemaJson).GetAwaiter().GetResult());
        }
        catch (JsonException ex)
        {
            throw new ArgumentException($"The {what} is not a valid JSON Schema: {ex.Message}", nameof(schemaJson), ex);
        }
        catch (Exception ex) when (ex is Newtonsoft.Json.JsonException or InvalidOperationException or NotSupportedException)
        {
            throw new ArgumentException($"The {what} is not a valid JSON Schema: {ex.Message}", nameof(schemaJson), ex);
        }
    }

    private static string? ExternalReference(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var member in element.EnumerateObject())
                {
                    if (member.Name == "$ref" && member.Value.ValueKind == JsonValueKind.String && !member.Value.GetString()!.StartsWith('#'))
                    {
                        return member.Value.GetString();
                    }
                    if (ExternalReference(member.Value) is { } nested)
                    {
                        return nested;
                    }
                }
                return null;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    if (ExternalReference(item) is { } nested)
                    {
                        return nested;
                    }
                }
                return null;
            default:
                return null;
        }
    }

    /// <summary>Every violation of the schema by <paramref name="value"/>, ordered by path; empty when it is valid.</summary>
    /// <param name="value">The value to check.</param>
    /// <param name="quoteValues">
    /// Whether an error may quote what it found (<c>got 15</c>, <c>got "abc"</c>). <c>false</c> for data that must not be
    /// repeated where the errors are recorded (a signal's reading that broke its contract): such errors name the path, what
    /// was expected and the type found, never the value.
    /// </param>
    public IReadOnlyList<string> Validate(JsonElement value, bool quoteValues = true)
    {
        var errors = new List<(string Path, string Message, bool WrongType)>();
        foreach (var error in _schema.Validate(value.GetRawText()))
        {
            Describe(error, value, errors, quoteValues);
        }
        // Where a value has the wrong type, what its members lack is a consequence, not a second error.
        var wrongType = errors.Where(e => e.WrongType).Select(e => e.Path).ToHashSet(StringComparer.Ordinal);
        return errors
            .Where(e => !wrongType.Any(p => e.Path.Length > p.Length && e.Path.StartsWith(p, StringComparison.Ordinal) && e.Path[p.Length] is '.' or '['))
            .Select(e => $"{e.Path}: {e.Message}")
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    private static void Describe(ValidationError error, JsonElement root, List<(string Path, string Message, bool WrongType)> errors, bool quoteValues)
    {
        if (error is ChildSchemaValidationError child && child.Errors.Count > 0)
        {
            foreach (var nested in child.Errors.SelectMany(e => e.Value))
            {
                Describe(nested, root, errors, quoteValues);
            }
            return;
        }
        string Raw(JsonElement? value) => quoteValues ? ToolSchema.Raw(value) : Unquoted(value);
        var path = ToJsonPath(error.Path);
        var actual = Find(root, path);
        var schema = error.Schema;
        var inv = CultureInfo.InvariantCulture;
        var what = error.Kind switch
        {
            ValidationErrorKind.StringExpected => Expected("string", actual),
            ValidationErrorKind.NumberExpected => Expected("number", actual),
            ValidationErrorKind.IntegerExpected => Expected("integer", actual),
            ValidationErrorKind.BooleanExpected => Expected("boolean", actual),
            ValidationErrorKind.ObjectExpected => Expected("object", actual),
            ValidationErrorKind.ArrayExpected => Expected("array", actual),
            ValidationErrorKind.NullExpected => Expected("null", actual),
            ValidationErrorKind.PropertyRequired => "required property is missing",
            ValidationErrorKind.NoAdditionalPropertiesAllowed => "property is not allowed",
            ValidationErrorKind.StringTooShort => string.Create(inv, $"expected at least {schema?.MinLength} character(s), got {Length(actual)}"),
            ValidationErrorKind.StringTooLong => string.Create(inv, $"expected at most {schema?.MaxLength} character(s), got {Length(actual)}"),
            ValidationErrorKind.NumberTooSmall => string.Create(inv, $"expected at least {schema?.Minimum}, got {Raw(actual)}"),
            ValidationErrorKind.NumberTooBig => string.Create(inv, $"expected at most {schema?.Maximum}, got {Raw(actual)}"),
            ValidationErrorKind.NotInEnumeration => $"expected one of [{string.Join(", ", schema?.Enumeration.Select(e => JsonSerializer.Serialize(e)) ?? [])}], got {Raw(actual)}",
            ValidationErrorKind.PatternMismatch => $"expected a string matching '{schema?.Pattern}', got {Raw(actual)}",
            ValidationErrorKind.TooManyItems => string.Create(inv, $"expected at most {schema?.MaxItems} item(s)"),
            ValidationErrorKind.TooFewItems => string.Create(inv, $"expected at least {schema?.MinItems} item(s)"),
            ValidationErrorKind.DateExpected => $"expected a date (yyyy-MM-dd), got {Raw(actual)}",
            ValidationErrorKind.DateTimeExpected => $"expected a date and time (RFC 3339), got {Raw(actual)}",
            _ => $"violates the schema ({error.Kind})",
        };
        errors.Add((path, what, error.Kind is ValidationErrorKind.StringExpected or ValidationErrorKind.NumberExpected or ValidationErrorKind.IntegerExpected
            or ValidationErrorKind.BooleanExpected or ValidationErrorKind.ObjectExpected or ValidationErrorKind.ArrayExpected or ValidationErrorKind.NullExpected));
    }

    private static string Expected(string type, JsonElement? actual) => $"expected {type}, got {TypeOf(actual)}";

    private static string TypeOf(JsonElement? value) => value?.ValueKind switch
    {
        JsonValueKind.String => "string",
        JsonValueKind.Number => value.Value.TryGetInt64(out _) ? "integer" : "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Null => "null",
        JsonValueKind.Object => "object",
        JsonValueKind.Array => "array",
        _ => "nothing",
    };

    // What was found, by type only: "an integer (not shown)".
    private static string Unquoted(JsonElement? value) => TypeOf(value) switch
    {
        "null" or "nothing" => TypeOf(value),
        var type when type[0] is 'a' or 'i' or 'o' => $"an {type} (not shown)",
        var type => $"a {type} (not shown)",
    };

    private static string Length(JsonElement? value) =>
        value is { ValueKind: JsonValueKind.String } s ? s.GetString()!.Length.ToString(CultureInfo.InvariantCulture) : "?";

    private static string Raw(JsonElement? value)
    {
        if (value is not { } v)
        {
            return "nothing";
        }
        var raw = v.GetRawText();
        return raw.Length <= 60 ? raw : raw[..60] + "…";
    }

    // NJsonSchema paths look like "#/", "#/replicas", "#/items[2]/name"; ours are "$", "$.replicas", "$.items[2].name".
    private static string ToJsonPath(string? path)
    {
        var p = (path ?? "#").TrimStart('#').Trim('/');
        return p.Length == 0 ? "$" : "$." + p.Replace('/', '.');
    }

    private static JsonElement? Find(JsonElement root, string path)
    {
        JsonElement current = root;
        var rest = path.AsSpan(1);
        while (rest.Length > 0)
        {
            if (rest[0] == '.')
            {
                rest = rest[1..];
                var end = rest.IndexOfAny('.', '[');
                var name = (end < 0 ? rest : rest[..end]).ToString();
                rest = end < 0 ? [] : rest[end..];
                if (current.ValueKind != JsonValueKind.Object || !current.TryGetProperty(name, out current))
                {
                    return null;
                }
            }
            else if (rest[0] == '[')
            {
                var close = rest.IndexOf(']');
                if (close < 0 || !int.TryParse(rest[1..close], NumberStyles.None, CultureInfo.InvariantCulture, out var index)
                    || current.ValueKind != JsonValueKind.Array || index >= current.GetArrayLength())
                {
                    return null;
                }
                current = current[index];
                rest = rest[(close + 1)..];
            }
            else
            {
                return null;
            }
        }
        return current;
    }
}
