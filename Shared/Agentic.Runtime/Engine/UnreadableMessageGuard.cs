using System.Text;
using System.Text.Json;
using Agentic.Runtime.Queues;
using Azure;
using Azure.Core;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using global::DurableTask.AzureStorage;
using Microsoft.Extensions.Logging;

namespace Agentic.Runtime.Engine;

/// <summary>
/// The engine's queue clients, with one addition: a message on a task hub queue (<c>{hub}-control-NN</c>,
/// <c>{hub}-workitems</c>) that the engine can not read is moved to <c>{queue}-poison</c> with the reason as it is
/// received, and is never handed to the engine.
/// </summary>
/// <remarks>
/// DurableTask.AzureStorage never removes such a message, and some stall every host on the hub: text that is not a
/// message is abandoned and received again forever; JSON that is not a message (no task message, event or instance)
/// throws after it is read, which on a control queue drops the whole batch it came with (those messages come back with
/// it after the visibility timeout, to be dropped again) and on the work-item queue makes the activity dispatcher wait
/// 10 s each time it comes back. Only the engine writes these queues, and every version writes the same envelope, so a
/// message without it is not waiting for a newer host: it goes at its first delivery.
/// </remarks>
internal sealed class UnreadableMessageGuard(string? connectionString, Uri? queueService, TokenCredential? credential, TimeProvider clock, ILogger logger)
    : IStorageServiceClientProvider<QueueServiceClient, QueueClientOptions>
{
    /// <inheritdoc />
    public QueueClientOptions CreateOptions() => new();

    /// <inheritdoc />
    public QueueServiceClient CreateClient(QueueClientOptions options) => connectionString is not null
        ? new GuardedServiceClient(this, options, connectionString)
        : new GuardedServiceClient(this, options, queueService!, credential!);

    /// <summary>
    /// Why the engine can not read <paramref name="body"/>, or <c>null</c> if it can: what DurableTask.AzureStorage's
    /// message manager accepts (JSON, or base64 of JSON when the text does not start with a brace) and then reads
    /// (the task message's event and instance id, unless the message is kept in a blob).
    /// </summary>
    internal static string? Unreadable(string body)
    {
        var text = body;
        if (!text.StartsWith('{'))
        {
            try
            {
                text = Encoding.UTF8.GetString(Convert.FromBase64String(text));
            }
            catch (FormatException)
            {
                return "Not an engine message: neither JSON nor base64.";
            }
        }
        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(text);
            root = document.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            return $"Not an engine message: not JSON ({ex.Message})";
        }
        if (root.ValueKind != JsonValueKind.Object)
        {
            return "Not an engine message: not a JSON object.";
        }
        if (Member(root, "CompressedBlobName") is { ValueKind: JsonValueKind.String } blob && !string.IsNullOrEmpty(blob.GetString()))
        {
            return null;
        }
        if (Member(root, "TaskMessage") is not { ValueKind: JsonValueKind.Object } message)
        {
            return "Not an engine message: no task message.";
        }
        if (Member(message, "Event") is not { ValueKind: JsonValueKind.Object })
        {
            return "Not an engine message: the task message has no event.";
        }
        if (Member(message, "OrchestrationInstance") is not { ValueKind: JsonValueKind.Object } instance
            || Member(instance, "InstanceId") is not { ValueKind: JsonValueKind.String } id
            || string.IsNullOrEmpty(id.GetString()))
        {
            return "Not an engine message: the task message names no instance.";
        }
        return null;
    }

    // The engine's serializer matches member names without regard to case.
    private static JsonElement? Member(JsonElement element, string name)
    {
        foreach (var property in element.EnumerateObject())
        {
            if (string.Equals(property.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                return property.Value;
            }
        }
        return null;
    }

    private QueueClient PlainQueue(string name, QueueClientOptions options) => connectionString is not null
        ? new QueueClient(connectionString, name, options)
        : new QueueClient(QueueUri(name), credential!, options);

    private GuardedQueueClient GuardedQueue(string name, QueueClientOptions options) => connectionString is not null
        ? new GuardedQueueClient(this, options, PlainQueue(name + "-poison", options), connectionString, name)
        : new GuardedQueueClient(this, options, PlainQueue(name + "-poison", options), QueueUri(name), credential!);

    private Uri QueueUri(string name) => new QueueUriBuilder(queueService!) { QueueName = name }.ToUri();

    // Moves the unreadable messages of a batch to the poison queue and returns the others. The record is sent before
    // the message is deleted, so a host that dies in between leaves a second record, never none.
    private async Task<QueueMessage[]> SiftAsync(QueueClient queue, QueueClient poison, QueueMessage[] messages, CancellationToken cancellationToken)
    {
        List<QueueMessage>? readable = null;
        for (var i = 0; i < messages.Length; i++)
        {
            var message = messages[i];
            if (Unreadable(message.Body.ToString()) is not { } reason)
            {
                readable?.Add(message);
                continue;
            }
            readable ??= [.. messages.Take(i)];
            await poison.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
            await Poison.MoveAsync(poison, message, reason, clock, logger, cancellationToken);
            try
            {
                await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, cancellationToken);
            }
            catch (RequestFailedException ex) when (ex.ErrorCode is "MessageNotFound" or "PopReceiptMismatch")
            {
                // Its visibility ended meanwhile and another host received it, and moves it in turn.
            }
        }
        return readable is null ? messages : [.. readable];
    }

    private sealed class GuardedServiceClient : QueueServiceClient
    {
        private readonly UnreadableMessageGuard _guard;
        private readonly QueueClientOptions _options;

        public GuardedServiceClient(UnreadableMessageGuard guard, QueueClientOptions options, string connectionString)
            : base(connectionString, options) => (_guard, _options) = (guard, options);

        public GuardedServiceClient(UnreadableMessageGuard guard, QueueClientOptions options, Uri service, TokenCredential credential)
            : base(service, credential, options) => (_guard, _options) = (guard, options);

        // Every queue the engine uses comes from here.
        public override QueueClient GetQueueClient(string queueName) => _guard.GuardedQueue(queueName, _options);
    }

    // The engine receives through these two calls (batches from control queues, one at a time from the work-item queue).
    private sealed class GuardedQueueClient : QueueClient
    {
        private readonly UnreadableMessageGuard _guard;
        private readonly QueueClient _poison;

        public GuardedQueueClient(UnreadableMessageGuard guard, QueueClientOptions options, QueueClient poison, string connectionString, string name)
            : base(connectionString, name, options) => (_guard, _poison) = (guard, poison);

        public GuardedQueueClient(UnreadableMessageGuard guard, QueueClientOptions options, QueueClient poison, Uri queue, TokenCredential credential)
            : base(queue, credential, options) => (_guard, _poison) = (guard, poison);

        public override async Task<Response<QueueMessage[]>> ReceiveMessagesAsync(int? maxMessages = null, TimeSpan? visibilityTimeout = null, CancellationToken cancellationToken = default)
        {
            var received = await base.ReceiveMessagesAsync(maxMessages, visibilityTimeout, cancellationToken);
            var readable = await _guard.SiftAsync(this, _poison, received.Value, cancellationToken);
            return ReferenceEquals(readable, received.Value) ? received : Response.FromValue(readable, received.GetRawResponse());
        }

        public override async Task<Response<QueueMessage>> ReceiveMessageAsync(TimeSpan? visibilityTimeout = null, CancellationToken cancellationToken = default)
        {
            var received = await base.ReceiveMessageAsync(visibilityTimeout, cancellationToken);
            if (received.Value is not { } message || (await _guard.SiftAsync(this, _poison, [message], cancellationToken)).Length == 1)
            {
                return received;
            }
            // Nothing readable arrived: the engine polls again after its usual back-off.
            return Response.FromValue<QueueMessage>(null!, received.GetRawResponse());
        }
    }
}
