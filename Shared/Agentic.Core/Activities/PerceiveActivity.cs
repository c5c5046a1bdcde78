using System.Text.Json;
using Agentic.Core.Agents;
using Agentic.Core.Audit;
using Agentic.Core.Json;
using Agentic.Core.Runs;
using Agentic.Core.Tools;
using Agentic.Core.Tools.Builtin;

namespace Agentic.Core.Activities;

/// <summary>
/// Observes the target through the run's agent's signal source, an HTTP probe (<see cref="HttpProbeSource"/>: by
/// default <c>{target}/health</c> within 10 seconds). The target must be one the run target rules (and the run's agent)
/// allow; the probe goes through the <see cref="EgressClient"/>, which checks every address the host resolves to, and
/// reads at most <see cref="MaxBodyBytes"/> of the answer. A probe that can not reach the target is itself an
/// observation (status <c>unreachable</c>); a refused target or an oversized answer is an error. Only a successful JSON
/// answer is kept as evidence; anything else is recorded as its status, size and digest, never its body. The observation
/// goes into the run's audit chain (source, contract, digest) before it is returned; a probe executed again after a
/// redelivery that saw something else is recorded as an amendment, not over the first.
/// </summary>
/// <param name="targets">The run target rules.</param>
/// <param name="client">The egress client the probe goes through.</param>
/// <param name="audit">The audit log observations are appended to.</param>
/// <param name="clock">The clock observations are stamped with.</param>
/// <param name="agents">The agents whose signal sources are probed: the version the run was admitted with (a run that
/// recorded none and whose agent is no longer offered gets the default health probe).</param>
public sealed class PerceiveActivity(RunTargets targets, EgressClient client, AuditLog audit, TimeProvider clock, IAgentCatalogProvider agents) : Activity<PerceiveInput, Observation>
{
    /// <summary>The most of a health answer that is read.</summary>
    public const int MaxBodyBytes = 64 * 1024;

    /// <inheritdoc />
    public override string Name => AgentActivities.Perceive;

    /// <inheritdoc />
    protected override async Task<Observation> RunAsync(PerceiveInput input, ActivityContext context, CancellationToken cancellationToken)
    {
        var observation = await ObserveAsync(input, cancellationToken);
        await audit.AppendAsync(input.RunId, AuditEntries.Observed(context.CommandId, input, observation), AuditConflict.Amend, cancellationToken);
        return observation;
    }

    private async Task<Observation> ObserveAsync(PerceiveInput input, CancellationToken cancellationToken)
    {
        var agent = await agents.ForRunAsync(input.Agent, input.AgentVersion, input.AgentHash, cancellationToken);
        var grant = targets.Check(input.Target, agent, out var refusal)
            ?? throw new NonRetryableException($"The target is not an allowed run target: {refusal}.");
        var probe = agent?.Probe ?? HttpProbeSource.Health;
        var uri = grant.Route(probe.Path);
        var source = "http-probe:" + uri.GetLeftPart(UriPartial.Path);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(probe.Timeout);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            using var response = await client.SendAsync(request, grant.AllowPrivate, timeout.Token);
            var (buffer, length, more) = await HttpBodies.ReadCappedAsync(response.Content, MaxBodyBytes, timeout.Token);
            if (more)
            {
                throw new NonRetryableException($"The health probe at {source["http-probe:".Length..]} answered more than {MaxBodyBytes} bytes; at most {MaxBodyBytes} are read.");
            }
            var body = buffer.AsSpan(0, length);
            var digest = AgenticJson.Digest(body);
            var code = (int)response.StatusCode;
            JsonElement? json = null;
            if (response.IsSuccessStatusCode)
            {
                try
                {
                    json = length == 0 ? AgenticJson.ToElement(new { }) : JsonDocument.Parse(buffer.AsMemory(0, length)).RootElement.Clone();
                }
                catch (JsonException)
                {
                    json = null;
                }
            }
            var details = json ?? AgenticJson.ToElement(new { httpStatus = code, bytes = length, digest, json = false });
            var status = json is { ValueKind: JsonValueKind.Object } o && o.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.String
                ? s.GetString()!
                : response.IsSuccessStatusCode ? "ok" : $"http-{code}";
            var healthy = response.IsSuccessStatusCode && status is "ok" or "healthy";
            return new Observation(source, clock.GetUtcNow(), digest, healthy, status, details);
        }
        catch (ToolException ex) when (!ex.Retryable)
        {
            throw new NonRetryableException($"The health probe was refused: {ex.Message}");
        }
        catch (Exception ex) when (ex is ToolException or HttpRequestException or IOException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            var details = AgenticJson.ToElement(new { error = ex.Message });
            return new Observation(source, clock.GetUtcNow(), AgenticJson.Digest(ex.Message), Healthy: false, "unreachable", details);
        }
    }
}
