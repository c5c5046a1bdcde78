using System.Text.Json;
using System.Text.Json.Serialization;
using Agentic.Core.Json;

namespace Agentic.Core.Runs;

/// <summary>A validated request to run an agent. Built only by <see cref="RunRequestParser"/>.</summary>
public sealed record RunRequest
{
    /// <summary>The agent to run (see <see cref="Agents.AgentCatalog"/>).</summary>
    public required string Agent { get; init; }

    /// <summary>What the requester wants, in their words; recorded, not interpreted by playbooks.</summary>
    public string? Goal { get; init; }

    /// <summary>Absolute http(s) URI of the resource the agent observes and acts on.</summary>
    public required string Target { get; init; }

    /// <summary>Who asked. Set by the host from the caller's identity, never from the body.</summary>
    public required string Principal { get; init; }

    /// <summary>Repeating a request with the same key returns the same run.</summary>
    public string? IdempotencyKey { get; init; }

    /// <summary>The deployment's environment (dev, test, staging, prod), never the caller's; part of every gate request.</summary>
    public string Environment { get; init; } = "dev";

    /// <summary>Agent-specific parameters handed to the planner.</summary>
    public JsonElement? Parameters { get; init; }

    /// <summary>How long an approval may be awaited before the step is rejected.</summary>
    public TimeSpan ApprovalTimeout { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Wall-clock budget for the whole run.</summary>
    public TimeSpan Deadline { get; init; } = TimeSpan.FromHours(4);

    /// <summary>The autonomy the run has: the agent's, or less when the requester asked for less. <c>null</c> in runs
    /// started before autonomy levels existed, which run <c>supervised</c>.</summary>
    public string? Autonomy { get; init; }

    /// <summary>The requester's roles, as the host authenticated them; policies see them as <c>principal.roles</c>.</summary>
    public IReadOnlyList<string>? PrincipalRoles { get; init; }

    /// <summary>The agent's own guards, fixed when the run starts (deployment defaults fill the rest).</summary>
    public Workflow.RunGuards? Guards { get; init; }

    /// <summary>
    /// The version of the agent the run was admitted with: perception, planning and every target check of the run use
    /// that definition, whatever version is activated later. <c>null</c> in runs admitted before it was recorded (they
    /// use the agent offered at the time) and for agents built in code.
    /// </summary>
    public string? AgentVersion { get; init; }

    /// <summary>The SHA-256 of that version's YAML text, so the run uses exactly the text it was admitted with.</summary>
    public string? AgentHash { get; init; }

    /// <summary>
    /// The workflow revision the run was admitted under (<see cref="Workflow.AgentWorkflow.Revision"/>); <c>null</c> for
    /// runs admitted before revisions were recorded (revision 1). The workflow adds commands only to runs of the revision
    /// that introduced them, so a run in flight replays the history it wrote.
    /// </summary>
    public int? Revision { get; init; }

    /// <summary>
    /// When the planner is asked again, fixed when the run starts from the agent's <c>llm.replan</c>; <c>null</c> (a playbook,
    /// a model asked once, or a run admitted before the setting existed, which so replays unchanged) is
    /// <see cref="Agents.ReplanMode.None"/>.
    /// </summary>
    public Agents.ReplanMode? Replan { get; init; }

    /// <summary>For a run a monitor started: the monitor, its tick, the incident key and the evidence it saw.</summary>
    public Monitors.MonitorOrigin? Monitor { get; init; }

    /// <summary>The autonomy the run has, <c>supervised</c> when unset.</summary>
    [JsonIgnore]
    public string EffectiveAutonomy => Autonomy ?? Agents.Autonomy.Supervised;
}

/// <summary>The JSON body of <c>POST /api/runs</c> and of an <c>agent-runs</c> queue message.</summary>
public sealed record RunRequestBody
{
    /// <summary>The agent to run (required).</summary>
    public string? Agent { get; init; }

    /// <summary>What the requester wants, in their words.</summary>
    public string? Goal { get; init; }

    /// <summary>The URL of what the agent acts on (required); it must match a run target rule.</summary>
    public string? Target { get; init; }

    /// <summary>A repeated key (per principal and agent) returns the same run.</summary>
    public string? IdempotencyKey { get; init; }

    /// <summary>The deployment's environment, or left out.</summary>
    public string? Environment { get; init; }

    /// <summary>The playbook's parameters.</summary>
    public JsonElement? Parameters { get; init; }

    /// <summary>The longest an approval may wait.</summary>
    public int? ApprovalTimeoutSeconds { get; init; }

    /// <summary>The run's wall-clock deadline.</summary>
    public int? DeadlineSeconds { get; init; }

    /// <summary>A lower autonomy than the agent's, never a higher one.</summary>
    public string? Autonomy { get; init; }
}

/// <summary>One thing wrong with a request: where, and what.</summary>
public sealed record InputError(string Field, string Message);

/// <summary>Thrown when input can not be accepted; carries every problem found.</summary>
public sealed class InputException(string title, IReadOnlyList<InputError> errors)
    : Exception(title + ": " + string.Join("; ", errors.Select(e => $"{e.Field}: {e.Message}")))
{
    /// <summary>A one-line summary suitable for a problem+json title.</summary>
    public string Title { get; } = title;

    /// <summary>Each problem, with the member it concerns.</summary>
    public IReadOnlyList<InputError> Errors { get; } = errors;
}

/// <summary>Turns untrusted bytes into a <see cref="RunRequest"/> or an <see cref="InputException"/> naming every problem.</summary>
public static class RunRequestParser
{
    /// <summary>Bodies larger than this are refused before parsing.</summary>
    public const int MaxBodyBytes = 64 * 1024;

    /// <summary>
    /// Parses and validates a request body sent by <paramref name="principal"/> against what the deployment
    /// <paramref name="admission"/> admits: a known agent, a target its rules (and the agent's) allow, and no environment
    /// other than the deployment's (a request without one runs in the deployment's).
    /// </summary>
    public static RunRequest Parse(ReadOnlySpan<byte> utf8Json, string principal, RunAdmission admission, IReadOnlyList<string>? principalRoles = null)
    {
        ArgumentNullException.ThrowIfNull(admission);
        var catalog = admission.Agents;
        if (utf8Json.Length > MaxBodyBytes)
        {
            throw new InputException("Request body too large", [new("$", $"The body is {utf8Json.Length} bytes; the limit is {MaxBodyBytes}.")]);
        }
        if (utf8Json.IsEmpty)
        {
            throw new InputException("Request body required", [new("$", "The body is empty; send a JSON object.")]);
        }

        RunRequestBody? body;
        try
        {
            body = JsonSerializer.Deserialize<RunRequestBody>(utf8Json, AgenticJson.Strict);
        }
        catch (JsonException ex)
        {
            var where = string.IsNullOrEmpty(ex.Path) ? "$" : ex.Path;
            var position = ex.LineNumber is { } line ? $" (line {line + 1}, byte {ex.BytePositionInLine + 1})" : "";
            throw new InputException("Malformed JSON", [new(where, FirstSentence(ex.Message) + position)]);
        }
        if (body is null)
        {
            throw new InputException("Request body required", [new("$", "The body is JSON null; send a JSON object.")]);
        }

        var errors = new List<InputError>();
        if (string.IsNullOrWhiteSpace(body.Agent))
        {
            errors.Add(new("agent", "Required."));
        }
        else if (!catalog.Contains(body.Agent))
        {
            errors.Add(new("agent", $"Unknown agent '{body.Agent}'. Known agents: {string.Join(", ", catalog.Names)}."));
        }
        if (string.IsNullOrWhiteSpace(body.Target))
        {
            errors.Add(new("target", "Required."));
        }
        else if (!Uri.TryCreate(body.Target, UriKind.Absolute, out var target) || (target.Scheme != Uri.UriSchemeHttp && target.Scheme != Uri.UriSchemeHttps))
        {
            errors.Add(new("target", "Must be an absolute http or https URI."));
        }
        else if (admission.Targets.Check(body.Target, body.Agent is { } named ? catalog.Find(named) : null, out var refusal) is null)
        {
            errors.Add(new("target", $"'{target.GetLeftPart(UriPartial.Path)}' is not an allowed run target: {refusal}."));
        }
        if (body.Environment is { } env && !string.Equals(env, admission.Environment, StringComparison.Ordinal))
        {
            errors.Add(new("environment", $"This deployment's environment is '{admission.Environment}'; the request names '{env}'. Runs always run in the deployment's environment: leave 'environment' out."));
        }
        if (body.IdempotencyKey is { } key && (key.Length is 0 or > 128 || key.Any(c => char.IsControl(c))))
        {
            errors.Add(new("idempotencyKey", "Must be 1 to 128 printable characters."));
        }
        if (body.Goal is { Length: > 2000 })
        {
            errors.Add(new("goal", "At most 2000 characters."));
        }
        if (body.Parameters is { ValueKind: not JsonValueKind.Object })
        {
            errors.Add(new("parameters", "Must be a JSON object."));
        }
        if (body.ApprovalTimeoutSeconds is < 1 or > 7 * 24 * 3600)
        {
            errors.Add(new("approvalTimeoutSeconds", "Must be between 1 and 604800."));
        }
        if (body.DeadlineSeconds is < 1 or > 30 * 24 * 3600)
        {
            errors.Add(new("deadlineSeconds", "Must be between 1 and 2592000."));
        }
        var agent = body.Agent is { } name && catalog.Contains(name) ? catalog.Get(name) : null;
        if (body.Autonomy is { } asked)
        {
            if (!Agents.Autonomy.IsKnown(asked))
            {
                errors.Add(new("autonomy", $"Must be one of {string.Join(", ", Agents.Autonomy.Levels)}."));
            }
            else if (agent is not null && Agents.Autonomy.Rank(asked) > Agents.Autonomy.Rank(agent.Autonomy))
            {
                errors.Add(new("autonomy", $"Agent '{agent.Name}' runs with at most '{agent.Autonomy}'; a request may lower its autonomy, not raise it."));
            }
        }
        if (errors.Count > 0)
        {
            throw new InputException("Invalid run request", errors);
        }

        return new RunRequest
        {
            Agent = body.Agent!,
            Goal = body.Goal,
            Target = body.Target!,
            Principal = principal,
            IdempotencyKey = body.IdempotencyKey,
            Environment = admission.Environment,
            Parameters = body.Parameters?.Clone(),
            ApprovalTimeout = body.ApprovalTimeoutSeconds is { } a ? TimeSpan.FromSeconds(a) : TimeSpan.FromHours(1),
            Deadline = body.DeadlineSeconds is { } d ? TimeSpan.FromSeconds(d) : agent!.Guards?.Deadline ?? TimeSpan.FromHours(4),
            Autonomy = body.Autonomy ?? agent!.Autonomy,
            PrincipalRoles = principalRoles is { Count: > 0 } ? [.. principalRoles] : null,
            Guards = agent!.Guards,
            AgentVersion = agent.Version,
            AgentHash = agent.Hash,
            Revision = Workflow.AgentWorkflow.Revision,
            Replan = agent.Llm is { Replan: not Agents.ReplanMode.None } llm ? llm.Replan : null,
        };
    }

    private static string FirstSentence(string message)
    {
        var cut = message.IndexOf(". ", StringComparison.Ordinal);
        return cut > 0 ? message[..(cut + 1)] : message;
    }
}
