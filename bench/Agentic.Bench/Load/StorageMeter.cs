using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;

namespace Agentic.Bench.Load;

/// <summary>One kind of request: the service (told apart by port), the table, queue or container without the hub's
/// prefix, the HTTP method and what the request does.</summary>
internal readonly record struct RequestKind(string Service, string Resource, string Method, string Operation);

/// <summary>Requests counted and their total duration.</summary>
internal readonly record struct Tally(long Count, double Seconds);

/// <summary>
/// Counts every HTTP request this process sends to Azurite (and to the sample fleet) with its table, queue or
/// container, from HttpClient's own diagnostics (the <c>HttpHandlerDiagnosticListener</c> stop event carries the
/// request). The Azure SDK, the product's stores and the Durable Task engine all send through
/// HttpClient, so this is every storage operation as it went on the wire, retries and empty polls included. A receive
/// that found the queue empty can not be told from one that got messages here (the body is read after the stop event);
/// deletes count the messages handled. An entity group transaction goes to <c>$batch</c>, which names no
/// table.
/// </summary>
internal sealed partial class StorageMeter : IDisposable, IObserver<DiagnosticListener>, IObserver<KeyValuePair<string, object?>>
{
    private readonly Dictionary<int, string> _services;
    private readonly List<IDisposable> _subscriptions = [];
    private ConcurrentDictionary<RequestKind, Tally> _tallies = new();
    private ConcurrentDictionary<RequestKind, Tally> _marked = new();
    private PropertyInfo? _request;

    /// <summary>The operation name of <see cref="Mark"/>'s activity.</summary>
    public const string MarkName = "Agentic.Bench.Marked";

    public StorageMeter(string connectionString, Uri fleet)
    {
        ArgumentNullException.ThrowIfNull(fleet);
        _services = Endpoint().Matches(connectionString).ToDictionary(
            m => int.Parse(m.Groups["port"].Value, CultureInfo.InvariantCulture), m => m.Groups["service"].Value.ToLowerInvariant());
        _services[fleet.Port] = "fleet";
        _subscriptions.Add(DiagnosticListener.AllListeners.Subscribe(this));
    }

    /// <summary>The hub whose prefix is taken off resource names (the side being measured).</summary>
    public string Hub { get; set; } = "";

    /// <summary>What was counted since the last call, and a fresh start.</summary>
    public IReadOnlyDictionary<RequestKind, Tally> Take() => Interlocked.Exchange(ref _tallies, new());

    /// <summary>
    /// Marks the requests the caller's own flow sends until the result is disposed (an <see cref="Activity"/>, which
    /// flows with the async calls beneath it and is the parent of HttpClient's request activities): a submission's own
    /// requests, told apart from the engine's pollers and the runs working in the background at the same time.
    /// </summary>
    public static Activity Mark() => new Activity(MarkName).Start();

    /// <summary>The marked requests counted since the last call (they are in <see cref="Take"/> too), and a fresh start.</summary>
    public IReadOnlyDictionary<RequestKind, Tally> TakeMarked() => Interlocked.Exchange(ref _marked, new());

    public void Dispose()
    {
        foreach (var subscription in _subscriptions)
        {
            subscription.Dispose();
        }
    }

    void IObserver<DiagnosticListener>.OnNext(DiagnosticListener value)
    {
        if (value.Name == "HttpHandlerDiagnosticListener")
        {
            lock (_subscriptions)
            {
                _subscriptions.Add(value.Subscribe(this, (name, _, _) => name.StartsWith("System.Net.Http.HttpRequestOut", StringComparison.Ordinal)));
            }
        }
    }

    void IObserver<KeyValuePair<string, object?>>.OnNext(KeyValuePair<string, object?> value)
    {
        if (value.Key != "System.Net.Http.HttpRequestOut.Stop" || value.Value is not { } payload)
        {
            return;
        }
        var type = payload.GetType();
        _request ??= type.GetProperty("Request");
        if (_request?.GetValue(payload) is not HttpRequestMessage { RequestUri: { } uri } request)
        {
            return;
        }
        var service = _services.TryGetValue(uri.Port, out var name) ? name : "other";
        var kind = Classify(service, request.Method.Method, uri);
        var seconds = Activity.Current?.Duration.TotalSeconds ?? 0;
        _tallies.AddOrUpdate(kind, _ => new Tally(1, seconds), (_, t) => new Tally(t.Count + 1, t.Seconds + seconds));
        if (IsMarked(Activity.Current))
        {
            _marked.AddOrUpdate(kind, _ => new Tally(1, seconds), (_, t) => new Tally(t.Count + 1, t.Seconds + seconds));
        }
    }

    private static bool IsMarked(Activity? activity)
    {
        for (; activity is not null; activity = activity.Parent)
        {
            if (activity.OperationName == MarkName)
            {
                return true;
            }
        }
        return false;
    }

    void IObserver<DiagnosticListener>.OnCompleted()
    {
    }

    void IObserver<DiagnosticListener>.OnError(Exception error)
    {
    }

    void IObserver<KeyValuePair<string, object?>>.OnCompleted()
    {
    }

    void IObserver<KeyValuePair<string, object?>>.OnError(Exception error)
    {
    }

    private RequestKind Classify(string service, string method, Uri uri)
    {
        if (service is "fleet" or "other")
        {
            return new(service, uri.AbsolutePath.StartsWith("/services/", StringComparison.Ordinal) ? "services" : "other", method, "tool and probe calls");
        }
        // Path style: /{account}/{resource}[/...]; a table entity is {table}(PartitionKey='..',RowKey='..').
        var segments = uri.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var resource = segments.Length > 1 ? Uri.UnescapeDataString(segments[1]) : "(account)";
        var paren = resource.IndexOf('(', StringComparison.Ordinal);
        if (paren > 0)
        {
            resource = resource[..paren];
        }
        if (Hub.Length > 0 && resource.StartsWith(Hub, StringComparison.OrdinalIgnoreCase))
        {
            resource = resource[Hub.Length..].TrimStart('-');
        }
        resource = Partition().Replace(resource, "-NN");
        var query = uri.Query;
        var operation = (service, method) switch
        {
            ("queue", "GET") when segments.Length < 3 => "properties",
            ("queue", "GET") when query.Contains("peekonly=true", StringComparison.OrdinalIgnoreCase) => "peek",
            ("queue", "GET") => "receive (or empty poll)",
            ("queue", "POST") => "send",
            ("queue", "DELETE") => "delete",
            ("queue", "PUT") when segments.Length > 3 => "update (lease renewal, release or back-off)",
            ("queue", "PUT") => "create",
            ("table", "POST") when resource == "$batch" => "transaction",
            ("table", "POST") when resource == "Tables" => "create table",
            ("table", "POST") => "insert",
            ("table", "GET") when uri.AbsolutePath.Contains("RowKey=", StringComparison.Ordinal) => "get",
            ("table", "GET") => "query",
            ("table", "PUT") => "upsert or replace",
            ("table", "PATCH" or "MERGE") => "merge",
            ("table", "DELETE") => "delete",
            ("blob", _) when query.Contains("comp=lease", StringComparison.OrdinalIgnoreCase) => "lease",
            ("blob", "GET" or "HEAD") => "read",
            ("blob", "PUT") => "write",
            ("blob", "DELETE") => "delete",
            _ => "other",
        };
        return new(service, resource, method, operation);
    }

    [GeneratedRegex(@"(?<service>Blob|Queue|Table)Endpoint=https?://[^:/]+:(?<port>\d+)")]
    private static partial Regex Endpoint();

    [GeneratedRegex(@"-\d{2}$")]
    private static partial Regex Partition();
}
