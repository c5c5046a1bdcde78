using System.Text.Json;
using Agentic.Core.Agents;
using Agentic.Core.Json;
using Agentic.Core.Tools;

namespace Agentic.Core.Activities;

/// <summary>
/// Observes the target with an HTTP health probe. A probe that can not reach the target is itself an
/// observation (status <c>unreachable</c>); only a malformed answer is an error.
/// </summary>
public sealed class PerceiveActivity(IHttpClientFactory httpClients, TimeProvider clock) : Activity<PerceiveInput, Observation>
{
    /// <inheritdoc />
    public override string Name => AgentActivities.Perceive;

    /// <inheritdoc />
    protected override async Task<Observation> RunAsync(PerceiveInput input, ActivityContext context, CancellationToken cancellationToken)
    {
        var uri = input.Target.TrimEnd('/') + "/health";
        var source = "http-probe:" + uri;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        try
        {
            using var response = await httpClients.CreateClient(HttpServiceTool.HttpClientName).GetAsync(new Uri(uri), timeout.Token);
            var body = await response.Content.ReadAsByteArrayAsync(timeout.Token);
            if (body.Length > 64 * 1024)
            {
                throw new NonRetryableException($"The health probe at {uri} answered {body.Length} bytes; at most 65536 are read.");
            }
            var digest = AgenticJson.Digest(body);
            JsonElement details;
            try
            {
                details = body.Length == 0 ? AgenticJson.ToElement(new { }) : JsonDocument.Parse(body).RootElement.Clone();
            }
            catch (JsonException)
            {
                details = AgenticJson.ToElement(new { raw = System.Text.Encoding.UTF8.GetString(body) });
            }
            var status = details.ValueKind == JsonValueKind.Object && details.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.String
                ? s.GetString()!
                : response.IsSuccessStatusCode ? "ok" : $"http-{(int)response.StatusCode}";
            var healthy = response.IsSuccessStatusCode && status is "ok" or "healthy";
            return new Observation(source, clock.GetUtcNow(), digest, healthy, status, details);
        }
        catch (Exception ex) when (ex is HttpRequestException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            var details = AgenticJson.ToElement(new { error = ex.Message });
            return new Observation(source, clock.GetUtcNow(), AgenticJson.Digest(ex.Message), Healthy: false, "unreachable", details);
        }
    }
}

/// <summary>Turns an observation into a plan with the agent's deterministic playbook.</summary>
public sealed class PlanActivity(AgentCatalog agents) : Activity<PlanInput, Plan>
{
    /// <inheritdoc />
    public override string Name => AgentActivities.Plan;

    /// <inheritdoc />
    protected override Task<Plan> RunAsync(PlanInput input, ActivityContext context, CancellationToken cancellationToken)
    {
        if (!agents.Contains(input.Agent))
        {
            throw new NonRetryableException($"Unknown agent '{input.Agent}'.");
        }
        return Task.FromResult(agents.Get(input.Agent).Playbook(input));
    }
}
