using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Agentic.Core.Agents;
using Agentic.Core.Json;
using Agentic.Core.Runs;
using Agentic.Core.Tools;
using Agentic.Core.Workflow;

namespace Agentic.Core.Audit;

/// <summary>How a run was started, for its <see cref="AuditKinds.RunAccepted"/> record.</summary>
public static class RunTrigger
{
    /// <summary><c>POST /api/runs</c>.</summary>
    public const string Http = "http";
    /// <summary>A message on the <c>agent-runs</c> queue.</summary>
    public const string Queue = "queue";
    /// <summary>A timer-based monitor.</summary>
    public const string Monitor = "monitor";
}

/// <summary>
/// The audit records of a run, built from the workflow's own values so every writer (the run client, each activity)
/// produces the same record for the same fact. Record ids are the workflow's command ids
/// (<see cref="AgentWorkflow.Ids"/>), so a redelivered activity finds its record, and lineage follows from them: an action
/// from its decision and approvals, a decision from the plan that proposed its step, a plan from the observation it read,
/// an observation from the run's acceptance.
/// </summary>
public static class AuditEntries
{
    // WARNING: record ids and data members are part of stored, signed records; change them only by adding.

    /// <summary>The id of the run's acceptance.</summary>
    public const string AcceptedId = "accepted";

    /// <summary>The id of the run's outcome.</summary>
    public const string OutcomeId = "outcome";

    /// <summary>The id of the guard that ended the run.</summary>
    public const string GuardId = "guard";

    private const int MaxText = 2000;

    /// <summary>A run was accepted.</summary>
    public static AuditEntry Accepted(string runId, RunRequest request, string trigger, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(request);
        var data = new JsonObject
        {
            ["runId"] = runId,
            ["principal"] = request.Principal,
            ["roles"] = Strings(request.PrincipalRoles ?? []),
            ["trigger"] = trigger,
            ["agent"] = request.Agent,
            // The exact definition the run was admitted with, and plans and perceives with.
            ["agentVersion"] = request.AgentVersion,
            ["agentHash"] = request.AgentHash,
            ["target"] = request.Target,
            ["environment"] = request.Environment,
            ["autonomy"] = request.EffectiveAutonomy,
            // The request itself may carry parameters a tool marks sensitive: its digest is the evidence.
            ["requestDigest"] = AgenticJson.Digest(AgenticJson.ToElement(request)),
        };
        if (request.Monitor is { } monitor)
        {
            // Only a monitor's runs carry it: the tick that started the run, the incident and the evidence it saw.
            data["monitor"] = new JsonObject
            {
                ["name"] = monitor.Monitor,
                ["tick"] = monitor.Tick,
                ["incident"] = monitor.Incident,
                ["observationDigest"] = monitor.ObservationDigest,
            };
        }
        return new(AcceptedId, AuditKinds.RunAccepted, at, Data(data));
    }

    /// <summary>An observation, under the command that made it (<c>perceive</c>, <c>verify</c>, <c>verify.2</c>, ...).</summary>
    public static AuditEntry Observed(string commandId, PerceiveInput input, Observation observation)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(observation);
        // The first observation follows from the request; a post-condition probe from the plan whose steps it checks.
        var from = commandId == AgentWorkflow.Ids.Perceive ? AcceptedId : AgentWorkflow.Ids.PlanFor(RoundOf(commandId, AgentWorkflow.Ids.Verify));
        return new(commandId, AuditKinds.Observation, observation.ObservedAt, Data(new JsonObject
        {
            ["source"] = observation.Source,
            ["purpose"] = input.Purpose,
            ["contract"] = "health-probe/v1",
            ["digest"] = observation.Digest,
            ["healthy"] = observation.Healthy,
            ["status"] = Cap(observation.Status),
            ["detailsDigest"] = AgenticJson.Digest(observation.Details),
            // Each signal's provenance and contract, never its value: what broke a contract is named by path and type only.
            ["signals"] = observation.Signals is { } readings ? new JsonArray([.. readings.Select(r => (JsonNode?)Reading(r))]) : null,
            ["failure"] = observation.Failure is { } failure ? Cap(failure) : null,
        }), [from]);
    }

    private static JsonObject Reading(SignalReading reading)
    {
        var data = new JsonObject
        {
            ["name"] = reading.Name,
            ["kind"] = reading.Kind,
            ["source"] = reading.Source,
            ["observedAt"] = reading.ObservedAt.ToString("O", CultureInfo.InvariantCulture),
            ["digest"] = reading.Digest,
            ["trusted"] = reading.Trusted,
            ["valid"] = !reading.Violated,
        };
        if (reading.Contract is { } contract)
        {
            data["contract"] = contract;
        }
        if (reading.ContractErrors is { } errors)
        {
            data["contractErrors"] = new JsonArray([.. errors.Select(e => (JsonNode?)Cap(e))]);
        }
        return data;
    }

    /// <summary>A plan, under the command that asked for it (<c>plan</c>, <c>plan.2</c>, ...).</summary>
    public static AuditEntry Planned(string commandId, PlanInput input, Plan plan, string? plannerVersion, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(plan);
        // A plan follows from the observation it read, and a plan asked for after an action from every outcome it read.
        List<string> from = input.History is { } history
            ? [AgentWorkflow.Ids.Perceive, .. history.Select(s => OutcomeOf(s.StepId))]
            : [input.Round <= 1 ? AgentWorkflow.Ids.Perceive : AgentWorkflow.Ids.VerifyFor(input.Round - 1)];
        return new(commandId, AuditKinds.Plan, at, Data(new JsonObject
        {
            ["planner"] = plan.Planner,
            ["plannerVersion"] = plannerVersion,
            ["agent"] = input.Agent,
            ["agentVersion"] = plan.AgentVersion,
            ["agentHash"] = plan.AgentHash,
            ["round"] = input.Round,
            ["observationDigest"] = input.Observation.Digest,
            ["outcomesRead"] = input.History?.Count,
            ["rationale"] = Cap(plan.Rationale),
            ["expectHealthy"] = plan.ExpectHealthy,
            ["steps"] = new JsonArray([.. plan.Steps.Select(s => (JsonNode?)new JsonObject
            {
                ["stepId"] = s.StepId,
                ["tool"] = s.Tool,
                ["argsDigest"] = AgenticJson.Digest(s.Arguments),
                ["rationale"] = Cap(s.Rationale),
            })]),
            ["model"] = plan.Model is { } m ? new JsonObject
            {
                ["model"] = m.Model,
                ["modelId"] = m.ModelId,
                ["promptId"] = m.PromptId,
                ["promptVersion"] = m.PromptVersion,
                ["promptHash"] = m.PromptHash,
                ["offered"] = new JsonArray([.. m.Offered.Select(o => (JsonNode?)o)]),
                ["notOffered"] = new JsonArray([.. (plan.Offers ?? []).Where(o => !o.Offered).Select(o => (JsonNode?)new JsonObject { ["tool"] = o.Tool, ["rule"] = o.Rule })]),
                ["calls"] = m.Calls,
                ["inputTokens"] = m.InputTokens,
                ["outputTokens"] = m.OutputTokens,
                ["cost"] = m.Cost,
                ["tainted"] = m.Tainted,
                ["taintSources"] = new JsonArray([.. m.TaintSources.Select(t => (JsonNode?)t)]),
                ["refusedAnswers"] = m.Rejected.Count,
            } : null,
        }), from);
    }

    /// <summary>The gate's decision for a step.</summary>
    public static AuditEntry Decided(GateDecision decision, bool compensation)
    {
        ArgumentNullException.ThrowIfNull(decision);
        var data = new JsonObject
        {
            ["stepId"] = decision.StepId,
            ["tool"] = decision.Tool,
            ["toolVersion"] = decision.ToolVersion,
            ["toolHash"] = decision.ToolHash,
            ["argsDigest"] = decision.ArgsDigest,
            ["effect"] = Enum(decision.Effect),
            ["policyId"] = decision.PolicyId,
            ["policyVersion"] = decision.PolicyVersion,
            ["policyHash"] = decision.PolicyHash,
            ["rule"] = decision.Rule,
            ["reason"] = Cap(decision.Reason),
            ["autonomy"] = decision.Autonomy,
            ["cost"] = decision.Cost,
            ["compensation"] = compensation,
            // What an assessed tool's service said the call means, by digest (the decision record keeps it whole).
            ["assessmentDigest"] = decision.Request?.Assessment is { } assessment ? AgenticJson.Digest(assessment) : null,
        };
        if (decision.Approval is { } terms)
        {
            data["approval"] = new JsonObject { ["role"] = terms.Role, ["quorum"] = terms.Quorum, ["escalateTo"] = terms.EscalateTo, ["timeoutSeconds"] = terms.Timeout?.TotalSeconds };
        }
        else if (decision.ApproverRole is { } role)
        {
            data["approval"] = new JsonObject { ["role"] = role, ["quorum"] = 1 };
        }
        if (decision.Shadow is { } shadow)
        {
            data["shadow"] = new JsonObject
            {
                ["effect"] = Enum(shadow.Effect), ["policyId"] = shadow.PolicyId, ["policyVersion"] = shadow.PolicyVersion, ["policyHash"] = shadow.PolicyHash, ["rule"] = shadow.Rule,
            };
        }
        return new(AgentWorkflow.Ids.Gate(decision.StepId), AuditKinds.Decision, decision.DecidedAt, Data(data), [DecisionSource(decision.StepId)]);
    }

    /// <summary>The id of an approver's answer for a step.</summary>
    public static string ApprovalId(string stepId, string approver)
    {
        ArgumentNullException.ThrowIfNull(approver);
        return $"{stepId}/approval/{AgenticJson.Digest(PrincipalIds.Normalize(approver))["sha256:".Length..][..16]}";
    }

    /// <summary>A human's answer to an approval request.</summary>
    public static AuditEntry Approved(string stepId, ApprovalDecision approval)
    {
        ArgumentNullException.ThrowIfNull(approval);
        return new(ApprovalId(stepId, approval.Approver), AuditKinds.Approval, approval.DecidedAt, Data(new JsonObject
        {
            ["stepId"] = stepId,
            ["approver"] = approval.Approver,
            ["roles"] = Strings(approval.Roles),
            ["verdict"] = approval.Decision,
            ["comment"] = approval.Comment is null ? null : Cap(approval.Comment),
            ["argsDigest"] = approval.ArgsDigest,
            ["toolHash"] = approval.ToolHash,
        }), [AgentWorkflow.Ids.Gate(stepId)]);
    }

    /// <summary>
    /// A channel was told of an approval wait, escalation or timeout (<paramref name="status"/>), or could not be
    /// (<paramref name="error"/>): what was sent is kept as its digest.
    /// </summary>
    public static AuditEntry Notified(string commandId, string stepId, string kind, string channel, string payloadDigest, int? status, string? error, DateTimeOffset at) =>
        new($"{commandId}/{channel}", AuditKinds.Notification, at, Data(new JsonObject
        {
            ["stepId"] = stepId,
            ["kind"] = kind,
            ["channel"] = channel,
            ["sent"] = error is null,
            ["status"] = status,
            ["payloadDigest"] = payloadDigest,
            ["error"] = error is null ? null : Cap(error),
        }), [AgentWorkflow.Ids.Gate(stepId)]);

    /// <summary>A tool is about to be called; its arguments with every field the tool's schema marks sensitive replaced by its digest.</summary>
    public static AuditEntry ActionStarted(ActInput input, ToolDescriptor tool, IReadOnlyList<string> approvals, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(tool);
        ArgumentNullException.ThrowIfNull(approvals);
        return new(AgentWorkflow.Ids.Act(input.StepId), AuditKinds.ActionStarted, at, Data(new JsonObject
        {
            ["stepId"] = input.StepId,
            ["tool"] = tool.Name,
            ["toolVersion"] = tool.Version,
            ["toolHash"] = input.Decision.ToolHash,
            ["sideEffect"] = Enum(tool.SideEffect),
            ["argsDigest"] = input.ArgsDigest,
            ["arguments"] = Bounded(SensitiveFields.Minimize(input.Arguments, tool.InputSchema)),
            ["compensationOf"] = UndoneStep(input.StepId),
        }), [AgentWorkflow.Ids.Gate(input.StepId), .. approvals]);
    }

    /// <summary>What a tool call returned.</summary>
    public static AuditEntry ActionSucceeded(ActInput input, ToolOutcome outcome, bool replayed, TimeSpan took, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(outcome);
        return new(OutcomeOf(input.StepId), AuditKinds.ActionOutcome, at, Data(new JsonObject
        {
            ["stepId"] = input.StepId,
            ["tool"] = input.Tool,
            ["succeeded"] = true,
            ["statusCode"] = outcome.StatusCode,
            ["resultDigest"] = AgenticJson.Digest(outcome.Output),
            ["replayed"] = replayed,
            ["durationMs"] = replayed ? null : Math.Round(took.TotalMilliseconds, 1),
        }), [AgentWorkflow.Ids.Act(input.StepId)]);
    }

    /// <summary>How a tool call failed (the error's class, not its text, which may quote what the tool saw).</summary>
    public static AuditEntry ActionFailed(ActInput input, Exception error, TimeSpan took, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(error);
        return new(OutcomeOf(input.StepId), AuditKinds.ActionOutcome, at, Data(new JsonObject
        {
            ["stepId"] = input.StepId,
            ["tool"] = input.Tool,
            ["succeeded"] = false,
            ["errorClass"] = (error.InnerException is ToolException ? error.InnerException : error).GetType().Name,
            ["retryable"] = error is not Activities.NonRetryableException,
            ["durationMs"] = Math.Round(took.TotalMilliseconds, 1),
        }), [AgentWorkflow.Ids.Act(input.StepId)]);
    }

    /// <summary>A kill switch or quarantine stopped a step (at the gate, or at the act after the gate let it through).</summary>
    public static AuditEntry ControlApplied(string stepId, string tool, string rule, string engagedBy, string where, DateTimeOffset at) =>
        new($"{stepId}/control/{where}", AuditKinds.ControlApplied, at, Data(new JsonObject
        {
            ["stepId"] = stepId,
            ["tool"] = tool,
            ["rule"] = rule,
            ["engagedBy"] = engagedBy,
            ["at"] = where,
        }), [where == "gate" ? DecisionSource(stepId) : AgentWorkflow.Ids.Gate(stepId)]);

    /// <summary>The run's end; a <see cref="AuditKinds.GuardTripped"/> record first when a guard ended it.</summary>
    public static IReadOnlyList<AuditEntry> Ended(Activities.ConcludeInput run, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(run);
        var entries = new List<AuditEntry>();
        var from = new List<string> { AcceptedId };
        if (run.FailureReason is { } reason && reason.StartsWith("Guard:", StringComparison.Ordinal))
        {
            entries.Add(new(GuardId, AuditKinds.GuardTripped, at, Data(new JsonObject { ["reason"] = Cap(reason) }), [AcceptedId]));
            from.Add(GuardId);
        }
        entries.Add(new(OutcomeId, AuditKinds.RunOutcome, at, Data(new JsonObject
        {
            ["status"] = run.Status,
            ["reason"] = run.FailureReason is null ? null : Cap(run.FailureReason),
            ["summary"] = run.Summary is { } summary ? Cap(summary) : null,
            ["steps"] = run.Steps,
            ["toolCalls"] = run.ToolCalls,
            ["budgetUsed"] = run.BudgetUsed,
        }), from));
        return entries;
    }

    /// <summary>The id of a step's action outcome.</summary>
    public static string OutcomeOf(string stepId) => AgentWorkflow.Ids.Act(stepId) + "/outcome";

    // A step's decision follows from the plan that proposed it; an undo step's from the outcome of the step it undoes.
    private static string DecisionSource(string stepId) =>
        UndoneStep(stepId) is { } undone ? OutcomeOf(undone) : AgentWorkflow.Ids.PlanFor(StepRound(stepId));

    private static bool IsUndo(string stepId) => stepId.StartsWith(AgentWorkflow.UndoPrefix, StringComparison.Ordinal);

    private static string? UndoneStep(string stepId) => IsUndo(stepId) ? stepId[AgentWorkflow.UndoPrefix.Length..] : null;

    // Steps of plan r > 1 are prefixed p{r}. by the workflow.
    private static int StepRound(string stepId)
    {
        if (stepId.Length > 2 && stepId[0] == 'p' && stepId.IndexOf('.', StringComparison.Ordinal) is var dot and > 1
            && int.TryParse(stepId.AsSpan(1, dot - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var round))
        {
            return round;
        }
        return 1;
    }

    private static int RoundOf(string commandId, string prefix) =>
        commandId.Length > prefix.Length + 1 && int.TryParse(commandId.AsSpan(prefix.Length + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var round) ? round : 1;

    // Arguments up to a few kilobytes are kept (minimized); larger ones by digest and size, so a record stays well inside
    // a table entity's limits.
    private static JsonNode? Bounded(JsonNode? arguments)
    {
        var text = arguments?.ToJsonString() ?? "null";
        return text.Length <= 8192
            ? arguments
            : new JsonObject { ["digest"] = AgenticJson.Digest(System.Text.Encoding.UTF8.GetBytes(text)), ["chars"] = text.Length, ["truncated"] = true };
    }

    private static string Cap(string text) => text.Length <= MaxText ? text : text[..MaxText] + $"... [{text.Length} chars, {AgenticJson.ShortDigest(AgenticJson.Digest(text))}]";

    private static JsonArray Strings(IEnumerable<string> values) => new([.. values.Select(v => (JsonNode?)JsonValue.Create(v))]);

    private static string Enum<T>(T value) where T : struct, System.Enum => AgenticJson.ToElement(value).GetString()!;

    /// <summary>A record's data: absent values are left out, as everywhere else in the product's JSON.</summary>
    internal static JsonElement Data(JsonObject data)
    {
        foreach (var key in data.Where(p => p.Value is null).Select(p => p.Key).ToList())
        {
            data.Remove(key);
        }
        return JsonSerializer.SerializeToElement(data);
    }
}

/// <summary>
/// Data minimization for audit records: a tool's input schema marks a field sensitive with <c>"x-sensitive": true</c>;
/// the audit keeps that field's digest, never its value.
/// </summary>
public static class SensitiveFields
{
    /// <summary>The keyword that marks a field sensitive.</summary>
    public const string Keyword = "x-sensitive";

    /// <summary><paramref name="value"/> with every field <paramref name="schemaJson"/> marks sensitive replaced by its digest.</summary>
    public static JsonNode? Minimize(JsonElement value, string? schemaJson)
    {
        var node = JsonNode.Parse(value.ValueKind == JsonValueKind.Undefined ? "null" : value.GetRawText());
        if (schemaJson is null)
        {
            return node;
        }
        using var schema = JsonDocument.Parse(schemaJson);
        return Walk(node, schema.RootElement);
    }

    private static JsonNode? Walk(JsonNode? node, JsonElement schema)
    {
        if (schema.ValueKind != JsonValueKind.Object)
        {
            return node;
        }
        if (schema.TryGetProperty(Keyword, out var flag) && flag.ValueKind == JsonValueKind.True)
        {
            return JsonValue.Create(AgenticJson.Digest(JsonSerializer.SerializeToElement(node)));
        }
        if (node is JsonObject obj && schema.TryGetProperty("properties", out var properties) && properties.ValueKind == JsonValueKind.Object)
        {
            foreach (var name in obj.Select(p => p.Key).ToList())
            {
                if (properties.TryGetProperty(name, out var child))
                {
                    obj[name] = Walk(obj[name]?.DeepClone(), child);
                }
            }
        }
        else if (node is JsonArray array && schema.TryGetProperty("items", out var items))
        {
            for (var i = 0; i < array.Count; i++)
            {
                array[i] = Walk(array[i]?.DeepClone(), items);
            }
        }
        return node;
    }
}
