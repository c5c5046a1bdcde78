using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Agentic.Core.Agents;
using Agentic.Core.Audit;
using Agentic.Core.Json;
using Agentic.Core.Secrets;
using Agentic.Core.Tools;
using Agentic.Core.Tools.Builtin;
using Microsoft.Extensions.Options;

namespace Agentic.Core.Activities;

/// <summary>
/// Tells the approval channels (<c>Agentic:Notify:Approvals:Channels</c>) that a step waits for approval, was escalated,
/// or timed out: the run, the step, the tool, its arguments (every field the tool's schema marks sensitive replaced by its
/// digest) and their digest, the rule and policy, the role, quorum and deadline, who approved so far, and a link to the
/// step in the dashboard's inbox. Each channel gets a JSON document with a <c>text</c> line (what a Slack or Teams
/// incoming webhook shows) and the same facts as fields, with an <c>Idempotency-Key</c> of run, step and kind.
/// </summary>
/// <remarks>
/// Once per wait: each channel's delivery is appended to the run's audit chain (<c>{command}/{channel}</c>) after the
/// hook answers, and a channel whose record exists is not posted to again when the activity runs again. A channel that
/// fails with a retryable error is tried again twice within the attempt, then its failure is recorded; a notification
/// never fails the run. Secret values never reach a payload: the arguments of a step hold
/// none (tools resolve theirs inside the call), and a channel's own secret is resolved for its header only.
/// </remarks>
public sealed class NotifyActivity(ApprovalNotifier notifier) : Activity<NotifyInput, NotifyResult>
{
    /// <inheritdoc />
    public override string Name => AgentActivities.Notify;

    /// <inheritdoc />
    protected override Task<NotifyResult> RunAsync(NotifyInput input, ActivityContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return notifier.NotifyAsync(input, context.CommandId, cancellationToken);
    }
}

/// <summary>
/// Sends approval notifications for the notify activity (waits and escalations) and the conclude activity (a wait that
/// timed out), once per wait and channel; see <see cref="NotifyActivity"/>.
/// </summary>
public sealed class ApprovalNotifier(
    IOptions<NotifyOptions> options,
    EgressClient client,
    ISecretProvider secrets,
    AuditLog audit,
    ToolRegistry tools,
    TimeProvider clock)
{
    /// <summary>How long one channel may take to answer.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(8);

    /// <summary>Posts per channel at most: the first, and two more 1 and 2 seconds after retryable failures (all within the activity's 30 s).</summary>
    public const int Tries = 3;

    // The most of the (minimized) arguments a notification carries; more is sent as a digest and size.
    private const int MaxArgumentChars = 2048;

    private readonly Lazy<WebhookChannels> _channels = new(() => new WebhookChannels(options.Value, client));

    /// <summary>
    /// Tells every approval channel about <paramref name="input"/> (in parallel), recording each delivery as
    /// <c>{commandId}/{channel}</c> in the run's chain. A channel whose delivery is recorded is not posted to again; a
    /// retryable failure (a timeout, 5xx, 429) is tried <see cref="Tries"/> times in all, then recorded like any other.
    /// </summary>
    public async Task<NotifyResult> NotifyAsync(NotifyInput input, string commandId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        var approvals = options.Value.Approvals;
        if (approvals.Channels.Count == 0)
        {
            return new([]);
        }
        var payload = Payload(input, approvals.Link(input.RunId, input.StepId));
        var digest = AgenticJson.Digest(System.Text.Encoding.UTF8.GetBytes(payload));
        var channels = approvals.Channels.Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        return new(await Task.WhenAll(channels.Select(channel => DeliverAsync(input, commandId, channel, payload, digest, cancellationToken))));
    }

    private async Task<NotifyDelivery> DeliverAsync(NotifyInput input, string commandId, string channel, string payload, string digest, CancellationToken cancellationToken)
    {
        if (await audit.FindAsync(input.RunId, $"{commandId}/{channel}", cancellationToken) is { } recorded && recorded.Read() is { } read)
        {
            var sent = read.Data.TryGetProperty("sent", out var s) && s.ValueKind == JsonValueKind.True;
            return new(channel, sent, read.Data.TryGetProperty("status", out var st) && st.ValueKind == JsonValueKind.Number ? st.GetInt32() : null, Replayed: true,
                sent ? null : read.Data.TryGetProperty("error", out var e) ? e.GetString() : "not sent");
        }
        int? status = null;
        string? error = null;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var secret = _channels.Value.SecretOf(channel);
                var resolved = new Dictionary<string, string>(StringComparer.Ordinal);
                if (secret is not null)
                {
                    resolved[secret] = await secrets.GetAsync(secret, cancellationToken)
                        ?? throw new ToolException($"The secret '{secret}' of the channel '{channel}' is not configured.", retryable: false);
                }
                status = await _channels.Value.PostAsync("The approval notification", channel, payload, $"{input.RunId}/{commandId}", resolved, Timeout, cancellationToken);
                break;
            }
            catch (ToolException ex) when (ex.Retryable && attempt < Tries)
            {
                await Task.Delay(TimeSpan.FromSeconds(attempt), clock, cancellationToken);
            }
            catch (ToolException ex)
            {
                error = attempt > 1 ? $"{ex.Message} (after {attempt} tries)" : ex.Message;
                break;
            }
        }
        await audit.AppendAsync(input.RunId, AuditEntries.Notified(commandId, input.StepId, input.Kind, channel, digest, status, error, clock.GetUtcNow()),
            AuditConflict.Amend, cancellationToken);
        return new(channel, error is null, status, false, error);
    }

    private string Payload(NotifyInput input, string? link)
    {
        var decision = input.Decision;
        var schema = tools.TryResolve(input.Tool, out var tool) ? tool.Descriptor.InputSchema : null;
        var arguments = SensitiveFields.Minimize(input.Arguments, schema);
        var argumentText = arguments?.ToJsonString() ?? "null";
        JsonNode? shown = argumentText.Length <= MaxArgumentChars
            ? arguments
            : new JsonObject { ["digest"] = AgenticJson.Digest(System.Text.Encoding.UTF8.GetBytes(argumentText)), ["chars"] = argumentText.Length, ["truncated"] = true };
        var deadline = input.Deadline.ToUniversalTime().ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);
        var what = input.Kind switch
        {
            NotifyKinds.Escalated => $"Approval escalated to role '{input.Role}'",
            NotifyKinds.TimedOut => "Approval timed out; the step was rejected",
            _ => $"Approval needed from role '{input.Role}'",
        };
        var quorum = input.Quorum > 1 ? $" ({input.Approvers.Count} of {input.Quorum} approvals)" : "";
        var text = $"{what}{quorum}: run {input.RunId} step {input.StepId} of agent {input.Agent} wants {input.Tool} "
            + $"(arguments {AgenticJson.ShortDigest(input.ArgsDigest)}) on {input.Target}, requested by {input.RequestedBy}. "
            + $"Rule '{decision.Rule}' of {decision.PolicyId}@{decision.PolicyVersion}: {decision.Reason}"
            + (input.Kind == NotifyKinds.TimedOut ? "" : $" Decide before {deadline}.")
            + (link is null ? "" : $" {link}");
        var document = new JsonObject
        {
            ["text"] = text,
            ["kind"] = input.Kind,
            ["runId"] = input.RunId,
            ["stepId"] = input.StepId,
            ["agent"] = input.Agent,
            ["requestedBy"] = input.RequestedBy,
            ["target"] = input.Target,
            ["tool"] = input.Tool,
            ["toolVersion"] = decision.ToolVersion,
            ["arguments"] = shown,
            ["argsDigest"] = input.ArgsDigest,
            ["policy"] = new JsonObject { ["id"] = decision.PolicyId, ["version"] = decision.PolicyVersion, ["rule"] = decision.Rule, ["reason"] = decision.Reason },
            ["approverRole"] = input.Role,
            ["quorum"] = input.Quorum,
            ["approvedBy"] = new JsonArray([.. input.Approvers.Select(a => (JsonNode?)JsonValue.Create(a))]),
            ["deadline"] = input.Deadline.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture),
            ["inbox"] = link,
        };
        foreach (var key in document.Where(p => p.Value is null).Select(p => p.Key).ToList())
        {
            document.Remove(key);
        }
        return document.ToJsonString(AgenticJson.Options);
    }
}
