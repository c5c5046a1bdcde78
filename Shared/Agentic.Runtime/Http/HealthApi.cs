using Agentic.Core.Audit;
using Agentic.Core.Governance;
using Agentic.Core.Json;
using Agentic.Core.Policy;
using Agentic.Runtime.Engine;
using Agentic.Runtime.Http.Identity;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Agentic.Runtime.Http;

/// <summary>One dependency's state: <c>up</c> or <c>down</c>, with a short reason.</summary>
public sealed record HealthCheckView(string Status, string Reason);

/// <summary>
/// The body of <c>GET /api/health</c>: <c>ok</c> or <c>unavailable</c>; the checks (storage, policy, secrets, engine)
/// only for callers with one of the API's roles.
/// </summary>
public sealed record HealthView(string Status, IReadOnlyDictionary<string, HealthCheckView>? Checks = null);

/// <summary>
/// What the gate and the engine depend on, each checked the way they use it: storage (the control set the gate reads
/// first), the policy the gate enforces (<see cref="IPolicyProvider"/>, which throws when its store can not answer), the
/// secret store (the audit signing key, through <see cref="AuditSigner"/>, which keeps the key to itself) and the engine
/// (the local engine started and its task hub answering, or the Functions app's bound client answering). Any of them
/// down means the gate would fail closed, and health answers 503. Results are kept for <see cref="CacheFor"/>: the
/// route is open to anonymous callers, so callers can not turn it into storage traffic.
/// </summary>
public sealed class AgenticHealth(IControlStore controls, IPolicyProvider policies, AuditSigner signer, TimeProvider clock, IServiceProvider services) : IDisposable
{
    /// <summary>How long one check may take before it counts as down.</summary>
    public static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(5);

    /// <summary>How long a result is answered again.</summary>
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(2);

    // The instance the engine check reads: no run has this id (run ids are run- and 32 hex digits), so the read is one
    // point lookup that finds nothing.
    private const string ProbeInstance = "agentic-health-probe";

    private readonly SemaphoreSlim _lock = new(1, 1);
    private (DateTimeOffset At, IReadOnlyDictionary<string, HealthCheckView> Checks)? _last;

    /// <summary>The checks by name (<c>storage</c>, <c>policy</c>, <c>secrets</c>, <c>engine</c>), run at once.</summary>
    public async Task<IReadOnlyDictionary<string, HealthCheckView>> CheckAsync(DurableTaskClient engine, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(engine);
        await _lock.WaitAsync(cancellationToken);
        try
        {
            if (_last is { } last && clock.GetUtcNow() - last.At < CacheFor)
            {
                return last.Checks;
            }
            var storage = RunAsync(async ct => { await controls.GetActiveAsync("health", "health", ct); return "The control set the gate reads first answers."; }, cancellationToken);
            var policy = RunAsync(async ct =>
            {
                var active = await policies.GetAsync(ct);
                return $"Enforcing {active.Enforced.Id}@{active.Enforced.Version}" + (active.Shadow is { } shadow ? $", shadow {shadow.Id}@{shadow.Version}." : ".");
            }, cancellationToken);
            var secrets = RunAsync(async ct => $"The audit signing key {(await signer.PublicKeyAsync(ct)).KeyId} is readable.", cancellationToken);
            var runner = RunAsync(async ct =>
            {
                if (services.GetService<EngineService>() is { } local && !local.Ready.IsCompletedSuccessfully)
                {
                    throw new HealthException("Starting: the engine has not reached storage and started yet.");
                }
                await engine.GetInstanceAsync(ProbeInstance, getInputsAndOutputs: false, ct);
                return "The task hub answers.";
            }, cancellationToken);
            var checks = new Dictionary<string, HealthCheckView>(StringComparer.Ordinal)
            {
                ["storage"] = await storage,
                ["policy"] = await policy,
                ["secrets"] = await secrets,
                ["engine"] = await runner,
            };
            _last = (clock.GetUtcNow(), checks);
            return checks;
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Whether every check is up.</summary>
    public static bool AllUp(IReadOnlyDictionary<string, HealthCheckView> checks) =>
        checks?.Values.All(c => c.Status == "up") ?? throw new ArgumentNullException(nameof(checks));

    // The reason a check is down names the kind of failure, never its message: a store's error can quote a connection
    // string, a URI with a signature or a secret's name, and anonymous callers learn only up or down anyway.
    private static async Task<HealthCheckView> RunAsync(Func<CancellationToken, Task<string>> check, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(CheckTimeout);
        try
        {
            return new("up", await check(timeout.Token));
        }
        catch (HealthException ex)
        {
            return new("down", ex.Message);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new("down", $"No answer within {CheckTimeout.TotalSeconds:0} s.");
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            return new("down", $"Failed: {ex.GetType().Name}.");
        }
    }

    /// <inheritdoc />
    public void Dispose() => _lock.Dispose();

    private sealed class HealthException(string message) : Exception(message);
}

/// <summary>
/// <c>GET /api/health</c>, the same in both hosts and the one route open to anonymous callers: 200 <c>ok</c> when every
/// dependency of the gate and the engine is up, 503 <c>unavailable</c> when any is down (the gate would fail closed).
/// Anonymous callers, and callers without one of the API's roles, get the status only; the others also get each check
/// with its reason.
/// </summary>
public static class HealthApi
{
    /// <summary>Registers <see cref="AgenticHealth"/>.</summary>
    public static IServiceCollection AddAgenticHealth(this IServiceCollection services)
    {
        services.AddSingleton<AgenticHealth>();
        return services;
    }

    /// <summary>Maps <c>GET /api/health</c>.</summary>
    public static IEndpointRouteBuilder MapAgenticHealth(this IEndpointRouteBuilder app)
    {
        app.MapGet(AgenticAuthentication.HealthPath, CheckAsync).WithTags("Health")
            .Describe("Health", "200 ok when storage, the policy, the secret store and the engine are up; 503 unavailable when any is down. Anonymous callers get the status only.")
            .Produces<HealthView>().Produces<HealthView>(StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    /// <summary>The handler both hosts call, with the engine client each has (the local one, or Functions' bound client).</summary>
    public static async Task<IResult> CheckAsync(HttpContext context, [FromServices] AgenticHealth health, [FromServices] DurableTaskClient engine, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(health);
        var checks = await health.CheckAsync(engine, cancellationToken);
        var up = AgenticHealth.AllUp(checks);
        // Health is open to anyone, so the request guard did not authenticate it: details need a credential of one of the API's roles.
        var caller = await AgenticAuthentication.TryAuthenticateAsync(context);
        var view = new HealthView(up ? "ok" : "unavailable", caller.HasAny(AgenticRoles.All) ? checks : null);
        return TypedResults.Json(view, AgenticJson.Options, statusCode: up ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }
}
