using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Agentic.Bench.Load;

/// <summary>
/// Counts the HTTP requests this process sends to Azurite, by service (told apart by port) and method, with
/// their total duration, from .NET's own <c>http.client.request.duration</c> metric. The Azure SDK sends
/// through HttpClient, so this is every storage operation as it went on the wire, retries included: the
/// runner's real operation count, to set beside the floor's scripted one. Calls to the sample fleet (the
/// tools and probes) are counted apart.
/// </summary>
internal sealed partial class StorageMeter : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly Dictionary<int, string> _services;
    private ConcurrentDictionary<(string Service, string Method), Tally> _tallies = new();

    public StorageMeter(string connectionString, Uri fleet)
    {
        ArgumentNullException.ThrowIfNull(fleet);
        _services = Endpoint().Matches(connectionString).ToDictionary(
            m => int.Parse(m.Groups["port"].Value, CultureInfo.InvariantCulture), m => m.Groups["service"].Value.ToLowerInvariant());
        _services[fleet.Port] = "fleet";
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "System.Net.Http" && instrument.Name == "http.client.request.duration")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>(OnMeasurement);
        _listener.Start();
    }

    /// <summary>What was counted since the last call, and a fresh start.</summary>
    public IReadOnlyDictionary<(string Service, string Method), Tally> Take() => Interlocked.Exchange(ref _tallies, new());

    public void Dispose() => _listener.Dispose();

    /// <summary>The counts as a line per service: method count (mean ms).</summary>
    public static IEnumerable<string> Describe(IReadOnlyDictionary<(string Service, string Method), Tally> tallies, double perStep)
    {
        ArgumentNullException.ThrowIfNull(tallies);
        foreach (var service in tallies.GroupBy(t => t.Key.Service).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var total = service.Sum(t => t.Value.Count);
            var parts = service.OrderBy(t => t.Key.Method, StringComparer.Ordinal)
                .Select(t => string.Create(CultureInfo.InvariantCulture, $"{t.Key.Method} {t.Value.Count} ({Verb(service.Key, t.Key.Method)}, {t.Value.Seconds * 1000 / t.Value.Count:0.0} ms)"));
            yield return string.Create(CultureInfo.InvariantCulture, $"{service.Key,-6} {total,6} = {total / perStep,5:0.0} per step: {string.Join(", ", parts)}");
        }
    }

    private static string Verb(string service, string method) => (service, method) switch
    {
        ("queue", "GET") => "receive",
        ("queue", "POST") => "send",
        ("queue", "DELETE") => "delete",
        ("queue", "PUT") => "update: lease renewal or release",
        ("table", "POST") => "transaction",
        ("table", "GET") => "get or query",
        ("table", "PUT") => "upsert or update",
        ("table", "PATCH" or "MERGE") => "merge",
        ("fleet", _) => "tool and probe calls",
        _ => "other",
    };

    private void OnMeasurement(Instrument instrument, double seconds, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        string? method = null;
        var port = -1;
        foreach (var tag in tags)
        {
            switch (tag.Key)
            {
                case "http.request.method":
                    method = tag.Value as string;
                    break;
                case "server.port":
                    port = Convert.ToInt32(tag.Value, CultureInfo.InvariantCulture);
                    break;
            }
        }
        var service = _services.TryGetValue(port, out var name) ? name : "other";
        _tallies.AddOrUpdate((service, method ?? "?"), _ => new Tally(1, seconds), (_, t) => new Tally(t.Count + 1, t.Seconds + seconds));
    }

    [GeneratedRegex(@"(?<service>Blob|Queue|Table)Endpoint=https?://[^:/]+:(?<port>\d+)")]
    private static partial Regex Endpoint();
}

/// <summary>Requests counted and their total duration.</summary>
internal readonly record struct Tally(long Count, double Seconds);
