using System.Globalization;
using Agentic.Core.Agents;
using Agentic.Core.Json;
using Agentic.Core.Monitors;
using Agentic.Runtime.Http.Identity;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace Agentic.Runtime.Http;

/// <summary>
/// <c>GET /api/monitors</c> (<c>?ticks=</c>, 0 to 100, default 10), for operators and admins: every monitor with its
/// schedule, whether it is enabled, what it perceives and when it fires, its last ticks (newest first: outcome, reason,
/// past due, the run it started or was suppressed by) and its next tick. Requesters get 403: the ticks name runs of the
/// monitors' principals, which a requester may not read, and the incidents and targets are operations' business.
/// </summary>
public static class MonitorsApi
{
    /// <summary>Ticks listed per monitor when the query names no number.</summary>
    public const int DefaultTicks = 10;

    /// <summary>The most ticks listed per monitor.</summary>
    public const int MaxTicks = 100;

    /// <summary>Maps <c>/api/monitors</c>.</summary>
    public static IEndpointRouteBuilder MapAgenticMonitors(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/monitors", ListAsync).WithTags("Monitors")
            .Describe("List monitors", "Each monitor's schedule, whether it is enabled, its last ticks (outcome, reason, run, incident) and its next tick (?ticks=0-100).")
            .Refusals(StatusCodes.Status400BadRequest);
        return app;
    }

    /// <summary><c>GET /api/monitors</c>: every monitor, its last ticks and its next one.</summary>
    public static async Task<IResult> ListAsync(HttpRequest request, [FromServices] MonitorScheduler monitors, [FromServices] TimeProvider clock, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(monitors);
        ArgumentNullException.ThrowIfNull(clock);
        if (HttpCaller.Refusal(request, "reading monitors", AgenticRoles.Operator, AgenticRoles.Admin) is { } refused)
        {
            return refused;
        }
        var ticks = DefaultTicks;
        if (request.Query.TryGetValue("ticks", out var asked))
        {
            if (asked.Count != 1 || !int.TryParse(asked[0], NumberStyles.None, CultureInfo.InvariantCulture, out ticks) || ticks > MaxTicks)
            {
                return HttpCaller.Problem("Invalid query", $"'ticks' must be one integer from 0 to {MaxTicks}.", [new("ticks", $"An integer from 0 to {MaxTicks}, not '{asked}'.")]);
            }
        }
        var now = clock.GetUtcNow();
        var views = await Task.WhenAll(monitors.Monitors.Monitors.Select(async monitor =>
        {
            // The newest tick is listed as the last one whatever 'ticks' asks for.
            var recent = await monitors.Store.ListTicksAsync(monitor.Name, Math.Max(ticks, 1), cancellationToken);
            var enabled = monitors.IsEnabled(monitor);
            return new
            {
                name = monitor.Name,
                description = monitor.Description,
                schedule = monitor.Schedule.Text,
                enabled,
                agent = monitor.Agent,
                target = monitor.Target,
                principal = monitor.Principal,
                signal = monitor.Signal is HttpProbeSource probe
                    ? new { kind = probe.Kind, path = (string?)probe.Path, timeoutSeconds = (double?)probe.Timeout.TotalSeconds }
                    : new { kind = monitor.Signal.Kind, path = (string?)null, timeoutSeconds = (double?)null },
                when = monitor.When,
                incident = monitor.Incident,
                cooldownSeconds = monitor.Cooldown.TotalSeconds,
                source = monitor.Source,
                hash = monitor.Hash,
                lastTick = recent.Count > 0 ? recent[0] : null,
                nextTick = enabled ? monitor.Schedule.Next(now) : (DateTimeOffset?)null,
                ticks = recent.Take(ticks),
            };
        }));
        return TypedResults.Json(new { monitors = views }, AgenticJson.Options);
    }
}
