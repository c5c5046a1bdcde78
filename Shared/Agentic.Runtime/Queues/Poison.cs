using System.Text.Json;
using Agentic.Core.Json;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.Logging;

namespace Agentic.Runtime.Queues;

/// <summary>What a poison queue holds: the original message and why it was given up on.</summary>
public sealed record PoisonMessage(string Queue, string Reason, long DequeueCount, string Message, DateTimeOffset At);

/// <summary>Moves a message to a poison queue with the reason.</summary>
internal static class Poison
{
    public static async Task MoveAsync(global::Azure.Storage.Queues.QueueClient poisonQueue, QueueMessage message, string reason, TimeProvider clock, ILogger logger, CancellationToken cancellationToken)
    {
        var record = new PoisonMessage(poisonQueue.Name.Replace("-poison", "", StringComparison.Ordinal), reason, message.DequeueCount, message.Body.ToString(), clock.GetUtcNow());
        await poisonQueue.SendMessageAsync(JsonSerializer.Serialize(record, AgenticJson.Options), cancellationToken: cancellationToken);
        logger.Poisoned(poisonQueue.Name, reason);
    }
}
