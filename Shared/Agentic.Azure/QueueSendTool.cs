using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Agentic.Core.Json;
using Agentic.Core.Tools;
using Azure;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.Configuration;

namespace Agentic.Azure;

/// <summary>
/// <c>queue.send</c>: puts one message on a Storage queue of the deployment's account, if the queue is listed in
/// <c>Agentic:Queues:Allow</c> (environment <c>Agentic__Queues__Allow__0</c>, ...). The message is
/// <c>{ idempotencyKey, runId, stepId, message }</c>, so a consumer can drop a repeat; at most 48 KB. Queues are never
/// created: an allowed queue that does not exist is an error.
/// </summary>
public sealed partial class QueueSendTool : ITool
{
    /// <summary>The tool's name.</summary>
    public const string Name = "queue.send";

    /// <summary>The setting listing the queues the tool may write.</summary>
    public const string AllowSetting = "Agentic:Queues:Allow";

    /// <summary>The largest message body, in UTF-8 bytes (Storage takes 64 KB; this leaves room for encodings).</summary>
    public const int MaxMessageBytes = 48 * 1024;

    /// <summary>Arguments: a queue name (3 to 63 lowercase letters, digits, '-') and a JSON object. Nothing else.</summary>
    public const string InputSchema = """
        {
          "$schema": "http://json-schema.org/draft-07/schema#",
          "type": "object",
          "properties": {
            "queue": { "type": "string", "minLength": 3, "maxLength": 63, "pattern": "^[a-z0-9][a-z0-9-]*[a-z0-9]$" },
            "message": { "type": "object" }
          },
          "required": ["queue", "message"],
          "additionalProperties": false
        }
        """;

    /// <summary>Output: the queue, the message id Storage gave it, and when it was inserted.</summary>
    public const string OutputSchema = """
        {
          "$schema": "http://json-schema.org/draft-07/schema#",
          "type": "object",
          "properties": {
            "queue": { "type": "string" },
            "messageId": { "type": "string" },
            "insertedOn": { "type": "string" },
            "bytes": { "type": "integer", "minimum": 0 }
          },
          "required": ["queue", "messageId"],
          "additionalProperties": false
        }
        """;

    private readonly QueueServiceClient _queues;
    private readonly HashSet<string> _allowed;

    /// <summary>The tool writing through <paramref name="queues"/> to the <paramref name="allowedQueues"/> only.</summary>
    public QueueSendTool(QueueServiceClient queues, IEnumerable<string> allowedQueues)
    {
        ArgumentNullException.ThrowIfNull(queues);
        ArgumentNullException.ThrowIfNull(allowedQueues);
        _queues = queues;
        _allowed = new(StringComparer.Ordinal);
        foreach (var queue in allowedQueues)
        {
            if (!IsQueueName(queue))
            {
                throw new ArgumentException($"{AllowSetting}: '{queue}' is not a queue name (3 to 63 lowercase letters, digits and single '-').", nameof(allowedQueues));
            }
            _allowed.Add(queue);
        }
        Descriptor = new(Name, "1.0.0",
            $"Sends a JSON message to a Storage queue listed in {AllowSetting}; the message carries the call's idempotency key.",
            RiskLevel.Medium, SideEffect.Irreversible, Idempotent: false, TimeSpan.FromSeconds(10), 4 * 1024)
        {
            InputSchema = InputSchema,
            OutputSchema = OutputSchema,
            Tags = ["messaging"],
        };
    }

    /// <summary>The tool over the storage account of <paramref name="storage"/> and the queues <paramref name="configuration"/> allows.</summary>
    public static QueueSendTool FromConfiguration(StorageClients storage, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(storage);
        ArgumentNullException.ThrowIfNull(configuration);
        var allowed = configuration.GetSection(AllowSetting).GetChildren().Select(c => c.Value ?? "").ToList();
        return new QueueSendTool(storage.Queues, allowed);
    }

    /// <inheritdoc />
    public ToolDescriptor Descriptor { get; }

    /// <inheritdoc />
    public async Task<ToolOutcome> InvokeAsync(ToolCall invocation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(invocation);
        var (queue, message) = Parse(invocation.Arguments);
        if (!_allowed.Contains(queue))
        {
            throw Refused($"the queue '{queue}' is not in {AllowSetting}");
        }
        var body = JsonSerializer.Serialize(
            new { idempotencyKey = invocation.IdempotencyKey, runId = invocation.RunId, stepId = invocation.StepId, message }, AgenticJson.Options);
        var bytes = Encoding.UTF8.GetByteCount(body);
        if (bytes > MaxMessageBytes)
        {
            throw Refused(string.Create(CultureInfo.InvariantCulture, $"the message is {bytes} bytes, over the cap of {MaxMessageBytes} bytes"));
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Descriptor.Timeout);
        Response<SendReceipt> sent;
        try
        {
            sent = await _queues.GetQueueClient(queue).SendMessageAsync(body, timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ToolException($"{Name} timed out after {Descriptor.Timeout.TotalSeconds:0.#} s.", retryable: true);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            throw new ToolException($"{Name}: the queue '{queue}' does not exist, and {Name} does not create queues.", retryable: false, ex);
        }
        catch (RequestFailedException ex)
        {
            var retryable = ex.Status is 0 or 408 or 429 or >= 500;
            throw new ToolException($"{Name}: Storage refused the message for '{queue}' ({ex.Status} {ex.ErrorCode}).", retryable, ex);
        }
        var receipt = sent.Value;
        var output = JsonSerializer.SerializeToElement(
            new { queue, messageId = receipt.MessageId, insertedOn = receipt.InsertionTime.ToString("O", CultureInfo.InvariantCulture), bytes }, AgenticJson.Options);
        return new ToolOutcome(sent.GetRawResponse().Status, $"sent a message to {queue}", output);
    }

    private static (string Queue, JsonElement Message) Parse(JsonElement args)
    {
        if (args.ValueKind != JsonValueKind.Object)
        {
            throw Refused("the arguments must be an object");
        }
        var queue = args.TryGetProperty("queue", out var q) && q.ValueKind == JsonValueKind.String ? q.GetString()! : throw Refused("'queue' is required");
        if (!IsQueueName(queue))
        {
            throw Refused($"'{queue}' is not a queue name");
        }
        var message = args.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.Object ? m : throw Refused("'message' must be an object");
        return (queue, message);
    }

    private static bool IsQueueName(string? name) => name is not null && QueueName().IsMatch(name) && !name.Contains("--", StringComparison.Ordinal);

    private static ToolException Refused(string reason) => new($"{Name} refused the call: {reason}.", retryable: false);

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", RegexOptions.CultureInvariant)]
    private static partial Regex QueueName();
}
