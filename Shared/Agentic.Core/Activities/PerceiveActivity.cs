using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Agentic.Core.Agents;
using Agentic.Core.Audit;
using Agentic.Core.Json;
using Agentic.Core.Runs;
using Agentic.Core.Telemetry;
using Agentic.Core.Tools;
using Agentic.Core.Tools.Builtin;

namespace Agentic.Core.Activities;

/// <summary>
/// Reads every signal source of the run's agent (an agent the catalog does not have gets the default health probe) and
/// returns what they saw as one <see cref="Observation"/> with a reading per signal, each with provenance (source, time,
/// digest of the raw evidence):
/// <list type="bullet">
/// <item><c>http-probe</c> (<see cref="HttpProbeSource"/>): a GET of a route under the target, which the run target
/// rules (and the run's agent) must allow, sent through the <see cref="EgressClient"/> (which checks every address the
/// host resolves to), reading at most <see cref="MaxBodyBytes"/>. A probe that can not reach the target is itself a
/// reading (status <c>unreachable</c>); a refused target or an oversized answer is an error. Only a successful JSON
/// answer is kept as evidence and checked against the contract; anything else is recorded as its status, size and
/// digest, never its body.</item>
/// <item><c>queue-depth</c> and <c>table-count</c>: read through <see cref="IStorageSignals"/>, the deployment's own
/// storage account only.</item>
/// <item><c>request</c>: the part of the run's request the signal names (<see cref="PerceiveInput.Goal"/>,
/// <see cref="PerceiveInput.Parameters"/>).</item>
/// </list>
/// A reading whose data breaks its signal's data contract keeps its digest and the contract's errors, loses its value
/// (neither a playbook nor a model sees it), and counts in <c>agentic.perception.contract_violations</c>; when the signal
/// is the primary one or a <c>request</c> signal, the observation carries a <see cref="Observation.Failure"/> and the
/// workflow fails the run with it. The observation goes into the run's audit chain (each reading's source, digest,
/// contract and errors, never a value) before it is returned; a reading taken again after a redelivery that saw
/// something else is recorded as an amendment, not over the first.
/// </summary>
/// <param name="targets">The run target rules.</param>
/// <param name="client">The egress client probes go through.</param>
/// <param name="audit">The audit log observations are appended to.</param>
/// <param name="clock">The clock readings are stamped and probes timed with.</param>
/// <param name="agents">The agents whose signal sources are read: the version the run was admitted with (a run that
/// recorded none and whose agent is no longer offered gets the default health probe).</param>
/// <param name="storage">Reads queue depths and table counts; a host without it can not run agents with those signals.</param>
public sealed class PerceiveActivity(RunTargets targets, EgressClient client, AuditLog audit, TimeProvider clock, IAgentCatalogProvider agents, IStorageSignals? storage = null)
    : Activity<PerceiveInput, Observation>
{
    /// <summary>The most of a probe's answer that is read.</summary>
    public const int MaxBodyBytes = 64 * 1024;

    /// <summary>The most contract errors a reading keeps (the audit record and the run's document hold them).</summary>
    public const int MaxContractErrors = 10;

    /// <summary>The status of an observation whose signals (none of them a probe) include one that broke its contract.</summary>
    public const string ContractViolationStatus = "contract-violation";

    private const string Unreachable = "unreachable";

    /// <inheritdoc />
    public override string Name => AgentActivities.Perceive;

    /// <inheritdoc />
    protected override async Task<Observation> RunAsync(PerceiveInput input, ActivityContext context, CancellationToken cancellationToken)
    {
        var observation = await ObserveAsync(input, cancellationToken);
        await audit.AppendAsync(input.RunId, AuditEntries.Observed(context.CommandId, input, observation), AuditConflict.Amend, cancellationToken);
        return observation;
    }

    // The version the run was admitted with perceives, whatever is offered since.
    private async Task<Observation> ObserveAsync(PerceiveInput input, CancellationToken cancellationToken)
    {
        var agent = await agents.ForRunAsync(input.Agent, input.AgentVersion, input.AgentHash, cancellationToken);
        return await ObserveAsync(input, agent, agent?.Signals ?? [HttpProbeSource.Health], cancellationToken);
    }

    /// <summary>
    /// What <paramref name="signal"/> sees of <paramref name="target"/> (a run target of the offered <paramref name="agent"/>),
    /// without recording it: the activity records it in the run's chain, a monitor in its tick. The reading is checked
    /// against the signal's data contract as a run's is; a <c>request</c> signal reads nothing, as a monitor has no request.
    /// </summary>
    /// <exception cref="NonRetryableException">The target is not an allowed run target, or the probe was refused.</exception>
    public async Task<Observation> ObserveAsync(string target, string agent, SignalSource signal, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(signal);
        var definition = await agents.ForRunAsync(agent, version: null, hash: null, cancellationToken);
        return await ObserveAsync(new PerceiveInput("", agent, target, "monitor"), definition, [signal], cancellationToken);
    }

    private async Task<Observation> ObserveAsync(PerceiveInput input, AgentDefinition? agent, IReadOnlyList<SignalSource> signals, CancellationToken cancellationToken)
    {
        var grant = targets.Check(input.Target, agent, out var refusal)
            ?? throw new NonRetryableException($"The target is not an allowed run target: {refusal}.");
        var reads = await Task.WhenAll(signals.Select(signal => ReadAsync(signal, input, grant, cancellationToken)));
        var readings = new List<SignalReading>(signals.Count);
        string? failure = null;
        for (var i = 0; i < signals.Count; i++)
        {
            var (signal, read) = (signals[i], reads[i]);
            var errors = read.Data is { } data && signal.Contract is { } contract ? contract.Schema.Validate(data, quoteValues: false) : [];
            var reading = new SignalReading(signal.Name, signal.Kind, read.Source, read.At, read.Digest, signal.Trusted)
            {
                Value = errors.Count == 0 ? read.Value : null,
                Contract = signal.Contract is { } c ? $"{c.Path}@{c.Hash}" : null,
                ContractErrors = errors.Count == 0 ? null : [.. errors.Take(MaxContractErrors).Select(e => e.Length <= 300 ? e : e[..300] + "…")],
            };
            readings.Add(reading);
            if (reading.Violated)
            {
                AgenticTelemetry.ContractViolated(input.Agent, signal.Name);
                // The run can not do without the primary signal or the request's own payload.
                if (failure is null && (i == 0 || signal is RequestSource))
                {
                    failure = Failure(signal, errors);
                }
            }
        }

        var primary = (Read: reads[0], Reading: readings[0]);
        var details = primary.Reading.Violated
            ? AgenticJson.ToElement(new { digest = primary.Read.Digest, contract = "violated" })
            : primary.Read.Details ?? primary.Read.Value;
        // Health is the first probe's; an agent without a probe is healthy unless a signal broke its contract.
        var probe = Enumerable.Range(0, signals.Count).FirstOrDefault(i => signals[i] is HttpProbeSource, -1);
        var (healthy, status) = probe >= 0
            ? readings[probe].Violated ? (false, ContractViolationStatus) : (reads[probe].Healthy, reads[probe].Status!)
            : readings.Any(r => r.Violated) ? (false, ContractViolationStatus) : (true, "ok");
        return new Observation(primary.Reading.Source, primary.Reading.ObservedAt, primary.Reading.Digest, healthy, status, details)
        {
            Signals = readings,
            Failure = failure,
        };
    }

    private static string Failure(SignalSource signal, IReadOnlyList<string> errors)
    {
        const int Shown = 3;
        var more = errors.Count > Shown ? string.Create(CultureInfo.InvariantCulture, $" (and {errors.Count - Shown} more)") : "";
        return $"Signal '{signal.Name}' broke its data contract ({signal.Contract!.Path}): {string.Join("; ", errors.Take(Shown))}{more}.";
    }

    private Task<Read> ReadAsync(SignalSource signal, PerceiveInput input, TargetGrant grant, CancellationToken cancellationToken) => signal switch
    {
        HttpProbeSource probe => ProbeAsync(probe, grant, cancellationToken),
        QueueDepthSource queue => CountAsync("queue-depth:" + queue.Queue, () => Storage(input, signal).QueueDepthAsync(queue.Queue, cancellationToken)),
        TableCountSource table => CountAsync("table-count:" + table.Table, () => Storage(input, signal).CountRowsAsync(table.Table, table.Filter, table.Max, cancellationToken)),
        RequestSource request => Task.FromResult(Data("request:" + request.Path, request.Read(input.Goal, input.Parameters) ?? AgenticJson.ToElement<object?>(null))),
        _ => throw new NonRetryableException($"Signal '{signal.Name}' is of kind '{signal.Kind}', which this host can not read."),
    };

    private IStorageSignals Storage(PerceiveInput input, SignalSource signal) =>
        storage ?? throw new NonRetryableException($"Agent '{input.Agent}' reads {signal.Kind} signal '{signal.Name}', and this host has no storage to read it from.");

    private async Task<Read> CountAsync(string source, Func<Task<long>> count) => Data(source, JsonSerializer.SerializeToElement(await count()));

    // Data that is its own reading: the contract checks it, and its digest is its canonical JSON's.
    private Read Data(string source, JsonElement value) => new(source, clock.GetUtcNow(), AgenticJson.Digest(value), value, value);

    private async Task<Read> ProbeAsync(HttpProbeSource probe, TargetGrant grant, CancellationToken cancellationToken)
    {
        var uri = grant.Route(probe.Path);
        var source = "http-probe:" + uri.GetLeftPart(UriPartial.Path);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(probe.Timeout);
        var started = clock.GetTimestamp();
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            using var response = await client.SendAsync(request, grant.AllowPrivate, timeout.Token);
            var (buffer, length, more) = await HttpBodies.ReadCappedAsync(response.Content, MaxBodyBytes, timeout.Token);
            var latency = clock.GetElapsedTime(started);
            if (more)
            {
                throw new NonRetryableException($"The health probe at {source["http-probe:".Length..]} answered more than {MaxBodyBytes} bytes; at most {MaxBodyBytes} are read.");
            }
            var digest = AgenticJson.Digest(buffer.AsSpan(0, length));
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
            return new Read(source, clock.GetUtcNow(), digest, json, ProbeValue(probe, code, status, healthy, latency, json), status, healthy, details);
        }
        catch (ToolException ex) when (!ex.Retryable)
        {
            throw new NonRetryableException($"The health probe was refused: {ex.Message}");
        }
        catch (Exception ex) when (ex is ToolException or HttpRequestException or IOException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            var value = ProbeValue(probe, null, Unreachable, false, clock.GetElapsedTime(started), null);
            return new Read(source, clock.GetUtcNow(), AgenticJson.Digest(ex.Message), null, value, Unreachable, false, AgenticJson.ToElement(new { error = ex.Message }));
        }
    }

    // A probe's reading: what it answered, how long it took, and the values it extracts from a JSON answer.
    private static JsonElement ProbeValue(HttpProbeSource probe, int? code, string status, bool healthy, TimeSpan latency, JsonElement? json)
    {
        var value = new JsonObject
        {
            ["httpStatus"] = code,
            ["status"] = status,
            ["healthy"] = healthy,
            ["latencyMs"] = Math.Round(latency.TotalMilliseconds, 1),
        };
        if (probe.Extract is { Count: > 0 } extract)
        {
            var values = new JsonObject();
            foreach (var item in extract)
            {
                values[item.Name] = json is { } body && item.Path.Find(body) is { } found ? JsonSerializer.SerializeToNode(found) : null;
            }
            value["values"] = values;
        }
        return JsonSerializer.SerializeToElement(value);
    }

    /// <summary>What one signal gave: where from, when, the digest of the raw evidence, the data its contract checks (none for an unreachable or non-JSON probe), and its reading; for a probe, its status, health and the observation's details.</summary>
    private sealed record Read(string Source, DateTimeOffset At, string Digest, JsonElement? Data, JsonElement Value, string? Status = null, bool Healthy = true, JsonElement? Details = null);
}
