using System.Collections.Concurrent;
using System.Text.Json;

// The sample fleet: services are created on first touch (healthy, 2 replicas). Side-effecting routes
// honour Idempotency-Key: a repeated key is answered from the first response and not applied again, and
// /admin/effects reports, per key, how often it was applied and how often it was requested.
// /admin/fail-next and /admin/delay-next make the next side effects fail, or answer late after being applied
// (a call whose caller may die before it hears back), for tests of retries and redelivery.
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
var app = builder.Build();

var fleet = new ConcurrentDictionary<string, Service>(StringComparer.Ordinal);
var effects = new ConcurrentDictionary<string, Effect>(StringComparer.Ordinal);
var failNext = 0;
var delayNextMs = 0;

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
app.MapPost("/admin/reset", () =>
{
    fleet.Clear();
    effects.Clear();
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
