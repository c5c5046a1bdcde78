using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Agentic.Core.Tools;

namespace Agentic.Core.Agents;

/// <summary>
/// Where an agent's observations come from. Each kind has its own settings; every kind has a name (the kind's own by
/// default), an optional data contract its readings are validated against, and a trust flag. The perceive activity
/// reads every source of the run's agent, in order; the first is the primary one.
/// </summary>
public abstract partial record SignalSource
{
    private readonly string? _name;

    /// <summary>The kind's name as agent YAML writes it (<c>http-probe</c>, <c>queue-depth</c>, ...).</summary>
    public abstract string Kind { get; }

    /// <summary>The signal's name in the agent (<c>observation.signals.{name}</c>, <c>signal:{name}</c>); its kind when not named.</summary>
    public string Name
    {
        get => _name ?? Kind;
        init => _name = value;
    }

    /// <summary>The JSON Schema each reading's data must satisfy; <c>null</c>: any data.</summary>
    public DataContract? Contract { get; init; }

    /// <summary>Whether a language model planner may read this signal's data as trusted (it does not taint the plan).</summary>
    public bool Trusted { get; init; }

    /// <summary>
    /// Signal names (and the names of values a probe extracts): 1 to 64 letters, digits, '_' and '-', starting with a
    /// letter, so they can stand in a predicate's attribute path (<c>observation.signals.open-incidents.value</c>).
    /// </summary>
    public static bool IsName(string name) => SignalName().IsMatch(name);

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9_-]{0,63}$")]
    private static partial Regex SignalName();
}

/// <summary>A signal's data contract: a JSON Schema file, compiled once when the agent loads.</summary>
/// <param name="Path">The schema file as the agent names it, relative to the agent file's directory.</param>
/// <param name="Hash">SHA-256 of the schema file: a reading's record names the exact contract it was checked against.</param>
/// <param name="Schema">The compiled schema.</param>
public sealed record DataContract(string Path, string Hash, ToolSchema Schema);

/// <summary>
/// An HTTP GET of <see cref="Path"/> under the run's target, through the run target rules and the egress client. A 2xx
/// answer whose JSON <c>status</c> is <c>ok</c> or <c>healthy</c> (or a 2xx without a status) is healthy; anything else,
/// an unreachable target included, is an unhealthy observation. Its reading is the HTTP status, the status, whether it
/// is healthy, the latency, and the <see cref="Extract"/>ed values of a JSON answer; its data contract applies to the
/// JSON body of a 2xx answer.
/// </summary>
/// <param name="Path">The route under the target, without a leading '/': <c>health</c>, <c>api/status</c>.</param>
/// <param name="Timeout">How long the probe may take.</param>
public sealed record HttpProbeSource(string Path, TimeSpan Timeout) : SignalSource
{
    /// <summary>The kind's name.</summary>
    public const string KindName = "http-probe";

    /// <summary>The probe of <c>{target}/health</c> within 10 seconds: the source of an agent that names none.</summary>
    public static HttpProbeSource Health { get; } = new("health", TimeSpan.FromSeconds(10));

    /// <summary>The longest timeout a probe may have.</summary>
    public static TimeSpan MaxTimeout { get; } = TimeSpan.FromSeconds(60);

    /// <inheritdoc />
    public override string Kind => KindName;

    /// <summary>Values taken from a JSON answer into the reading, by name (a value the answer does not have is JSON null).</summary>
    public IReadOnlyList<ProbeExtract>? Extract { get; init; }

    /// <summary>Whether <paramref name="path"/> is a route a probe may take: segments of letters, digits, '-', '.', '_' and '~', no '.' or '..' segment.</summary>
    public static bool IsRoute(string path) =>
        path.Length is > 0 and <= 256
        && path.Split('/').All(segment => segment.Length > 0 && segment is not ("." or "..")
            && segment.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~'));
}

/// <summary>A value a probe takes from its JSON answer: <paramref name="Name"/> in the reading's <c>values</c>, read at <paramref name="Path"/>.</summary>
/// <param name="Name">The value's name.</param>
/// <param name="Path">Where it is in the answer (<see cref="JsonPath"/>: <c>$.queue.depth</c>, <c>$.items[0].id</c>).</param>
public sealed record ProbeExtract(string Name, JsonPath Path);

/// <summary>
/// The approximate number of messages in an Azure Storage queue of the deployment's own storage account (the queue's
/// name as it is in the account, <c>agent-runs</c>). Its reading's value is that number.
/// </summary>
/// <param name="Queue">The queue's name.</param>
public sealed record QueueDepthSource(string Queue) : SignalSource
{
    /// <summary>The kind's name.</summary>
    public const string KindName = "queue-depth";

    /// <inheritdoc />
    public override string Kind => KindName;
}

/// <summary>
/// The number of rows of a table of the deployment's own storage account that match an OData filter, counted up to
/// <see cref="Max"/>. Its reading's value is that number (<see cref="Max"/> means at least that many).
/// </summary>
/// <param name="Table">The table's name.</param>
/// <param name="Filter">The OData filter (<c>Status eq 'open'</c>); <c>null</c> counts every row.</param>
/// <param name="Max">The most rows counted.</param>
public sealed record TableCountSource(string Table, string? Filter, int Max) : SignalSource
{
    /// <summary>The kind's name.</summary>
    public const string KindName = "table-count";

    /// <summary>The bound when the agent names none.</summary>
    public const int DefaultMax = 1000;

    /// <summary>The highest bound an agent may set: counting reads a page of keys per thousand rows.</summary>
    public const int HighestMax = 100_000;

    /// <summary>The longest filter.</summary>
    public const int MaxFilterLength = 1024;

    /// <inheritdoc />
    public override string Kind => KindName;
}

/// <summary>
/// The run request's own payload (the body of <c>POST /api/runs</c> or the <c>agent-runs</c> message): the part at
/// <see cref="Path"/>. Its reading's value is that part, JSON null when the request does not have it.
/// </summary>
/// <param name="Path"><c>goal</c>, <c>parameters</c>, or a member under it (<c>parameters.document</c>, <c>parameters.x.y</c>).</param>
public sealed partial record RequestSource(string Path) : SignalSource
{
    /// <summary>The kind's name.</summary>
    public const string KindName = "request";

    /// <inheritdoc />
    public override string Kind => KindName;

    /// <summary>Whether <paramref name="path"/> names a part of a request: <c>goal</c>, <c>parameters</c>, or member names under <c>parameters</c>.</summary>
    public static bool IsRequestPath(string path) => RequestPath().IsMatch(path);

    /// <summary>The part of a request at <see cref="Path"/>, or <c>null</c> when the request does not have it.</summary>
    public JsonElement? Read(string? goal, JsonElement? parameters)
    {
        if (Path == "goal")
        {
            return goal is null ? null : JsonSerializer.SerializeToElement(goal);
        }
        if (parameters is not { ValueKind: not (JsonValueKind.Undefined or JsonValueKind.Null) } current)
        {
            return null;
        }
        foreach (var name in Path.Split('.').Skip(1))
        {
            if (current.ValueKind != JsonValueKind.Object || !current.TryGetProperty(name, out current))
            {
                return null;
            }
        }
        return current;
    }

    [GeneratedRegex(@"^(goal|parameters(\.[A-Za-z0-9_-]{1,64}){0,8})$")]
    private static partial Regex RequestPath();
}

/// <summary>
/// A path into a JSON value, as a small subset of JSONPath: <c>$</c>, then member names (<c>.name</c>, letters, digits,
/// '_' and '-') and array indexes (<c>[0]</c>).
/// </summary>
public sealed partial record JsonPath
{
    private readonly IReadOnlyList<object> _segments;

    private JsonPath(string text, IReadOnlyList<object> segments)
    {
        Text = text;
        _segments = segments;
    }

    /// <summary>The path as written.</summary>
    public string Text { get; }

    /// <summary>The path in <paramref name="text"/>, or <c>null</c> when it is not one.</summary>
    public static JsonPath? Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length > 256 || !PathText().IsMatch(text))
        {
            return null;
        }
        var segments = new List<object>();
        foreach (Match segment in Segment().Matches(text[1..]))
        {
            segments.Add(segment.Groups["name"].Success
                ? segment.Groups["name"].Value
                : int.Parse(segment.Groups["index"].Value, NumberStyles.None, CultureInfo.InvariantCulture));
        }
        return new JsonPath(text, segments);
    }

    /// <summary>The value at this path in <paramref name="root"/>, or <c>null</c> when there is none.</summary>
    public JsonElement? Find(JsonElement root)
    {
        var current = root;
        foreach (var segment in _segments)
        {
            if (segment is string name)
            {
                if (current.ValueKind != JsonValueKind.Object || !current.TryGetProperty(name, out current))
                {
                    return null;
                }
            }
            else if (current.ValueKind != JsonValueKind.Array || (int)segment >= current.GetArrayLength())
            {
                return null;
            }
            else
            {
                current = current[(int)segment];
            }
        }
        return current;
    }

    /// <inheritdoc />
    public bool Equals(JsonPath? other) => other is not null && other.Text == Text;

    /// <inheritdoc />
    public override int GetHashCode() => Text.GetHashCode(StringComparison.Ordinal);

    /// <inheritdoc />
    public override string ToString() => Text;

    [GeneratedRegex(@"^\$(\.[A-Za-z0-9_-]{1,64}|\[[0-9]{1,6}\])*$")]
    private static partial Regex PathText();

    [GeneratedRegex(@"\.(?<name>[A-Za-z0-9_-]+)|\[(?<index>[0-9]+)\]")]
    private static partial Regex Segment();
}
