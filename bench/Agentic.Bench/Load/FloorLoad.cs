using System.Diagnostics;
using Agentic.Azure;
using Azure;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;

namespace Agentic.Bench.Load;

/// <summary>What one floor chain did: its step marks and the receives that came back empty.</summary>
internal sealed record ChainResult(IReadOnlyList<(string Kind, double AtMs)> Marks, int EmptyReceives);

/// <summary>
/// The floor: the runner's storage operations (<see cref="FloorScript"/>) issued directly with the Azure SDK,
/// one sequential chain per run, chains in flight as the runner's runs are. Same clients and client options
/// as the runner (built by <see cref="StorageClients"/>), fresh tables and queues of their own hub.
/// </summary>
internal sealed class FloorLoad
{
    private readonly TableClient _runs;
    private readonly TableClient _ledger;
    private readonly QueueClient _work;
    private readonly QueueClient _control;
    private readonly TimeSpan _lease;

    public FloorLoad(StorageClients storage, TimeSpan lease)
    {
        ArgumentNullException.ThrowIfNull(storage);
        _runs = storage.Table("runs");
        _ledger = storage.Table("ledger");
        _work = storage.Queue("work");
        _control = storage.Queue("control");
        _lease = lease;
    }

    public async Task ProvisionAsync(CancellationToken cancellationToken)
    {
        await _runs.CreateIfNotExistsAsync(cancellationToken);
        await _ledger.CreateIfNotExistsAsync(cancellationToken);
        await _work.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        await _control.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
    }

    /// <summary>Runs every script, at most <paramref name="inFlight"/> at once; times are from <paramref name="clock"/>.</summary>
    public async Task<IReadOnlyList<ChainResult>> RunAsync(IReadOnlyList<FloorScript> scripts, int inFlight, Stopwatch clock, CancellationToken cancellationToken)
    {
        using var slots = new SemaphoreSlim(inFlight, inFlight);
        return await Task.WhenAll(scripts.Select(async script =>
        {
            await slots.WaitAsync(cancellationToken);
            try
            {
                return await RunChainAsync(script, clock, cancellationToken);
            }
            finally
            {
                slots.Release();
            }
        }));
    }

    private async Task<ChainResult> RunChainAsync(FloorScript script, Stopwatch clock, CancellationToken cancellationToken)
    {
        // Chains share the queues, as runs share the runner's: a receive takes whichever message is first.
        var received = new Dictionary<Target, QueueMessage>();
        var marks = new List<(string, double)>();
        var empty = 0;
        var etag = default(ETag);
        foreach (var op in script.Ops)
        {
            switch (op)
            {
                case Transaction t:
                {
                    var actions = new List<TableTransactionAction>();
                    if (t.RunRow is { } row)
                    {
                        actions.Add(new TableTransactionAction(t.RunRowAction!.Value, row, etag));
                    }
                    actions.AddRange(t.Rows.Select(r => new TableTransactionAction(r.Action, r.Entity, ETag.All)));
                    var responses = await _runs.SubmitTransactionAsync(actions, cancellationToken);
                    if (t.RunRow is not null)
                    {
                        etag = responses.Value[0].Headers.ETag ?? default;
                    }
                    break;
                }
                case Get g:
                    var entity = await Table(g.Table).GetEntityIfExistsAsync<TableEntity>(g.PartitionKey, g.RowKey, cancellationToken: cancellationToken);
                    if (!entity.HasValue)
                    {
                        throw new InvalidOperationException($"Floor {script.RunId}: {g.What} found nothing at {g.PartitionKey}/{g.RowKey}.");
                    }
                    if (g.Table == Target.Runs)
                    {
                        etag = entity.Value!.ETag;
                    }
                    break;
                case Upsert u:
                    await Table(u.Table).UpsertEntityAsync(u.Entity, TableUpdateMode.Replace, cancellationToken);
                    break;
                case Send s:
                    await Queue(s.Queue).SendMessageAsync(s.Body, s.Delay, cancellationToken: cancellationToken);
                    break;
                case Receive r:
                    while (true)
                    {
                        var messages = (await Queue(r.Queue).ReceiveMessagesAsync(1, _lease, cancellationToken)).Value;
                        if (messages.Length == 1)
                        {
                            received[r.Queue] = messages[0];
                            break;
                        }
                        // Another chain took the message this one sent; one of theirs is on its way.
                        empty++;
                    }
                    break;
                case Delete d:
                    var message = received[d.Queue];
                    await Queue(d.Queue).DeleteMessageAsync(message.MessageId, message.PopReceipt, cancellationToken);
                    break;
                case Mark m:
                    marks.Add((m.Kind, clock.Elapsed.TotalMilliseconds));
                    break;
                default:
                    throw new InvalidOperationException($"Unknown floor operation {op}.");
            }
        }
        return new ChainResult(marks, empty);
    }

    private TableClient Table(Target target) => target == Target.Runs ? _runs : _ledger;

    private QueueClient Queue(Target target) => target == Target.Work ? _work : _control;
}
