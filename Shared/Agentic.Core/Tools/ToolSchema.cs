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

    /// <summary>Compiles <paramref name="schemaJson"/>; throws <see cref="ArgumentException"/> naming <paramref name="what"/> when it is not a valid schema.</summary>
    public static ToolSchema Compile(string schemaJson, string what)
    {
        ArgumentNullException.ThrowIfNull(schemaJson);
        try
        {
            // No external references in tool schemas, so this completes without I/O.
            return new(JsonSchema.FromJsonAsync(schemaJson).GetAwaiter().GetResult());
        }
        catch (Exception ex) when (ex is Newtonsoft.Json.JsonException or InvalidOperationException or NotSupportedException)
        {
            throw new ArgumentException($"The {what} is not a valid JSON Schema: {ex.Message}", nameof(schemaJson), ex);
        }
    }

    /// <summary>Every violation of the schema by <paramref name="value"/>, ordered by path; empty when it is valid.</summary>
    public IReadOnlyList<string> Validate(JsonElement value)
    {
        var errors = new List<(string Path, string Message, bool WrongType)>();
        foreach (var error in _schema.Validate(value.GetRawText()))
        {
            Describe(error, value, errors);
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

    private static void Describe(ValidationError error, JsonElement root, List<(string Path, string Message, bool WrongType)> errors)
    {
        if (error is ChildSchemaValidationError child && child.Errors.Count > 0)
        {
            foreach (var nested in child.Errors.SelectMany(e => e.Value))
            {
                Describe(nested, root, errors);
            }
            return;
        }
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
