using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;

// The sample fleet: services are created on first touch (healthy, 2 replicas), and a contract register (below).
// Side-effecting routes honour Idempotency-Key: a repeated key is answered from the first response and not applied
// again, and /admin/effects reports, per key, how often it was applied and how often it was requested. /admin/calls
// counts every request by method and path, reads included, so a test can show what was never called.
// /admin/fail-next and /admin/delay-next make the next side effects fail, or answer late after being applied
// (a call whose caller may die before it hears back), for tests of retries and redelivery.
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
var app = builder.Build();

var fleet = new ConcurrentDictionary<string, Service>(StringComparer.Ordinal);
var effects = new ConcurrentDictionary<string, Effect>(StringComparer.Ordinal);
var calls = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
var contracts = new ConcurrentDictionary<string, Contract>(StringComparer.Ordinal);
var reviews = new List<Review>();
var failNext = 0;
var delayNextMs = 0;

app.Use(async (context, next) =>
{
    if (!context.Request.Path.StartsWithSegments("/admin", StringComparison.Ordinal))
    {
        calls.AddOrUpdate($"{context.Request.Method} {context.Request.Path}", 1, (_, n) => n + 1);
    }
    await next(context);
});

Service Get(string name) => fleet.GetOrAdd(name, n => new Service(n));

app.MapGet("/health", () => Results.Ok(new { status = "healthy", service = "sample-fleet" }));

var services = app.MapGroup("/services/{name}");
services.MapGet("/health", (string name) =>
{
    var s = Get(name);
    lock (s)
    {
        return Results.Ok(new { status = s.Healthy ? "healthy" : "degraded", service = name, replicas = s.Replicas, restarts = s.Restarts });
    }
});
services.MapGet("/diagnostics", (string name) =>
{
    var s = Get(name);
    lock (s)
    {
        return Results.Ok(new
        {
            service = name,
            errorRate = s.Healthy ? 0.001 : 0.27,
            p95LatencyMs = s.Healthy ? 42 : 1870,
            replicas = s.Replicas,
            message = s.Healthy ? $"{name}: error rate 0.1%, p95 42 ms" : $"{name}: error rate 27%, p95 1870 ms, connection pool exhausted",
        });
    }
});
services.MapPost("/restart", (string name, HttpRequest request) => ApplyAsync(request, name, "restart", _ =>
{
    var s = Get(name);
    lock (s)
    {
        s.Healthy = true;
        s.Restarts++;
        return new { message = $"restarted {name} ({s.Replicas} replicas)", service = name, restarts = s.Restarts };
    }
}));
services.MapPost("/scale", (string name, HttpRequest request, JsonElement body) => ApplyAsync(request, name, "scale", _ =>
{
    var replicas = body.TryGetProperty("replicas", out var r) && r.TryGetInt32(out var n) ? n : throw new BadHttpRequestException("replicas (integer) is required");
    var s = Get(name);
    lock (s)
    {
        // previousReplicas lets the caller undo the change (the scale tool's compensation).
        var previousReplicas = s.Replicas;
        s.Replicas = replicas;
        return new { message = $"scaled {name} to {replicas} replicas", service = name, replicas, previousReplicas };
    }
}));

// The contract register: one record per contract id, written with the fields an intake agent extracted. The register
// scores each contract from its value, dates and clause kinds (ContractRisk: the same fields always score the same,
// so an assessment before the write and the write itself agree) and puts a high-risk contract on its review queue,
// where a human reviewer finds it. Assessing changes nothing.
var register = app.MapGroup("/contracts/{id}");
register.MapGet("/record", (string id) =>
{
    if (!contracts.TryGetValue(id, out var c))
    {
        return Results.Ok(new { contract = id, status = "new", version = 0 });
    }
    lock (c)
    {
        return Results.Ok(new { contract = id, status = c.Status, version = c.Version, riskScore = c.Score, riskBand = c.Band, fields = c.Fields });
    }
});
register.MapPost("/assess", (string id, JsonElement body) =>
{
    if (ContractRisk.Problem(body) is { } problem)
    {
        return Results.Problem(problem, statusCode: StatusCodes.Status400BadRequest);
    }
    var (score, band, factors) = ContractRisk.Assess(body);
    return Results.Ok(new { contract = id, riskScore = score, riskBand = band, factors });
});
register.MapPut("/record", (string id, HttpRequest request, JsonElement body) => ContractRisk.Problem(body) is { } problem
    ? Task.FromResult(Results.Problem(problem, statusCode: StatusCodes.Status400BadRequest))
    : ApplyAsync(request, id, "record", key =>
{
    var (score, band, factors) = ContractRisk.Assess(body);
    var c = contracts.GetOrAdd(id, _ => new Contract());
    lock (c)
    {
        var previousVersion = c.Version;
        c.Version++;
        (c.Fields, c.Score, c.Band) = (body.Clone(), score, band);
        // A high-risk contract goes to a reviewer's queue; the register never files it as merely recorded.
        c.Status = band == "high" ? "in-review" : "recorded";
        if (band == "high")
        {
            lock (reviews)
            {
                reviews.Add(new Review(id, c.Version, score, band, key, DateTimeOffset.UtcNow));
            }
        }
        return new
        {
            message = $"recorded contract {id} version {c.Version}: risk {score} ({band}){(band == "high" ? ", on the review queue" : "")}",
            contract = id,
            version = c.Version,
            previousVersion,
            status = c.Status,
            riskScore = score,
            riskBand = band,
            factors,
        };
    }
}));
app.MapGet("/contracts/reviews", () =>
{
    lock (reviews)
    {
        return Results.Ok(new { reviews = reviews.ToList() });
    }
});

app.MapPost("/admin/services/{name}/degrade", (string name) =>
{
    var s = Get(name);
    lock (s)
    {
        s.Healthy = false;
    }
    return Results.Ok(new { service = name, status = "degraded" });
});
app.MapPost("/admin/fail-next", (int count) =>
{
    Interlocked.Exchange(ref failNext, count);
    return Results.Ok(new { failNext = count });
});
app.MapPost("/admin/delay-next", (int ms) =>
{
    Interlocked.Exchange(ref delayNextMs, ms);
    return Results.Ok(new { delayNextMs = ms });
});
app.MapGet("/admin/effects", () => Results.Ok(new
{
    effects = effects.Values.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => new { e.Key, e.Operation, e.Service, e.Applied, e.Requests }),
}));
app.MapGet("/admin/calls", () => Results.Ok(new
{
    calls = calls.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => new { call = c.Key, count = c.Value }),
}));
app.MapPost("/admin/reset", () =>
{
    fleet.Clear();
    effects.Clear();
    calls.Clear();
    contracts.Clear();
    lock (reviews)
    {
        reviews.Clear();
    }
    return Results.Ok();
});

app.Run();

async Task<IResult> ApplyAsync(HttpRequest request, string service, string operation, Func<string, object> effect)
{
    var result = Apply(request, service, operation, effect);
    // Applied (or answered from the first response) before the wait: the caller's side effect is done even if it
    // never hears back. Only the next call waits.
    if (Interlocked.Exchange(ref delayNextMs, 0) is > 0 and var delay)
    {
        await Task.Delay(delay, CancellationToken.None);
    }
    return result;
}

IResult Apply(HttpRequest request, string service, string operation, Func<string, object> effect)
{
    if (Interlocked.Decrement(ref failNext) >= 0)
    {
        return Results.Problem("Injected failure.", statusCode: StatusCodes.Status503ServiceUnavailable);
    }
    Interlocked.Exchange(ref failNext, Math.Max(0, Volatile.Read(ref failNext)));
    var key = request.Headers["Idempotency-Key"].FirstOrDefault();
    if (string.IsNullOrEmpty(key))
    {
        return Results.Problem("Idempotency-Key header is required for side effects.", statusCode: StatusCodes.Status400BadRequest);
    }
    var entry = effects.GetOrAdd(key, k => new Effect(k, operation, service));
    lock (entry)
    {
        entry.Requests++;
        if (entry.Response is null)
        {
            entry.Response = effect(key);
            entry.Applied++;
        }
        return Results.Ok(entry.Response);
    }
}

sealed class Service(string name)
{
    public string Name { get; } = name;
    public bool Healthy { get; set; } = true;
    public int Replicas { get; set; } = 2;
    public int Restarts { get; set; }
}

sealed class Effect(string key, string operation, string service)
{
    public string Key { get; } = key;
    public string Operation { get; } = operation;
    public string Service { get; } = service;
    public int Applied { get; set; }
    public int Requests { get; set; }
    public object? Response { get; set; }
}

sealed class Contract
{
    public int Version { get; set; }
    public string Status { get; set; } = "new";
    public JsonElement Fields { get; set; }
    public int Score { get; set; }
    public string Band { get; set; } = "low";
}

sealed record Review(string Contract, int Version, int RiskScore, string RiskBand, string IdempotencyKey, DateTimeOffset RoutedAt);

sealed record RiskFactor(string Factor, int Points, string Detail);

// The register's risk score, 0 to 100: the contract's value, its term (from its own dates, never from today, so the
// score does not drift between an assessment and the write), and the kinds of clause it has, each kind counted once.
// 60 or more is high risk, 30 or more medium, anything less low.
static class ContractRisk
{
    private static readonly Dictionary<string, int> ClauseWeights = new(StringComparer.Ordinal)
    {
        ["unlimited-liability"] = 40,
        ["uncapped-indemnity"] = 35,
        ["non-compete"] = 20,
        ["exclusivity"] = 15,
        ["auto-renewal"] = 10,
        ["indemnification"] = 5,
        ["data-processing"] = 5,
    };

    // What keeps the fields from being scored, or null: the register needs a value and the dates it reads.
    public static string? Problem(JsonElement fields)
    {
        if (fields.ValueKind != JsonValueKind.Object)
        {
            return "The contract's fields must be a JSON object.";
        }
        if (Amount(fields) is null)
        {
            return "value.amount (a number of at least 0) is required.";
        }
        if (!IsDate(fields, "effectiveDate", required: true) || !IsDate(fields, "expiryDate", required: false))
        {
            return "effectiveDate (yyyy-MM-dd) is required, and expiryDate must be a date (yyyy-MM-dd) when given.";
        }
        return null;
    }

    // Fields that passed Problem.
    public static (int Score, string Band, List<RiskFactor> Factors) Assess(JsonElement fields)
    {
        var factors = new List<RiskFactor>();
        var amount = Amount(fields)!.Value;
        var points = amount switch { >= 1_000_000 => 50, >= 250_000 => 25, >= 50_000 => 10, _ => 0 };
        if (points > 0)
        {
            factors.Add(new("value", points, $"value {amount.ToString("#,0.##", CultureInfo.InvariantCulture)}"));
        }
        var effective = Date(fields, "effectiveDate")!.Value;
        if (Date(fields, "expiryDate") is not { } expiry)
        {
            factors.Add(new("term", 20, "no expiry date: the contract runs until terminated"));
        }
        else if (expiry < effective)
        {
            factors.Add(new("term", 30, "the expiry date is before the effective date"));
        }
        else
        {
            var months = (expiry.Year - effective.Year) * 12 + expiry.Month - effective.Month - (expiry.Day < effective.Day ? 1 : 0);
            var term = months switch { > 36 => 15, > 12 => 5, _ => 0 };
            if (term > 0)
            {
                factors.Add(new("term", term, $"a term of {months} months"));
            }
        }
        var kinds = fields.TryGetProperty("clauses", out var clauses) && clauses.ValueKind == JsonValueKind.Array
            ? clauses.EnumerateArray().Select(c => c.ValueKind == JsonValueKind.Object && c.TryGetProperty("kind", out var k) ? k.GetString() : null).OfType<string>().Distinct(StringComparer.Ordinal)
            : [];
        foreach (var kind in kinds.Order(StringComparer.Ordinal))
        {
            if (ClauseWeights.TryGetValue(kind, out var weight))
            {
                factors.Add(new("clause", weight, $"a clause of kind {kind}"));
            }
        }
        var score = Math.Min(100, factors.Sum(f => f.Points));
        return (score, score >= 60 ? "high" : score >= 30 ? "medium" : "low", factors);
    }

    private static double? Amount(JsonElement fields) =>
        fields.TryGetProperty("value", out var value) && value.ValueKind == JsonValueKind.Object
        && value.TryGetProperty("amount", out var a) && a.ValueKind == JsonValueKind.Number && a.TryGetDouble(out var n) && n >= 0
            ? n
            : null;

    private static bool IsDate(JsonElement fields, string name, bool required) =>
        fields.TryGetProperty(name, out _) ? Date(fields, name) is not null : !required;

    private static DateOnly? Date(JsonElement fields, string name) =>
        fields.TryGetProperty(name, out var text) && text.ValueKind == JsonValueKind.String
        && DateOnly.TryParseExact(text.GetString(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date)
            ? date
            : null;
}
