using Azure;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.Logging;

namespace Agentic.Bench.HomeRunner;

/// <summary>What a handler did with a message.</summary>
public enum MessageOutcome
{
    /// <summary>Done with: delete it.</summary>
    Complete,
    /// <summary>Not handled here (shutdown): make it visible again at once.</summary>
    Release,
    /// <summary>Not handled this time: leave it to reappear when its lease ends, one delivery more on its dequeue count.</summary>
    Retry,
}

/// <summary>
/// Polls one queue and hands each message to a handler, at most <c>concurrency</c> at a time.
/// Polling backs off while the queue is empty and wakes at once when this process enqueues to it.
/// A message's lease is renewed while its handler runs; a handler that throws leaves the message to
/// reappear after its lease, so the dequeue count rises until the handler's poison rule takes it.
/// </summary>
internal sealed class QueuePump(
    QueueClient queue,
    int concurrency,
    TimeSpan lease,
    TimeSpan maxPoll,
    Func<QueueMessage, CancellationToken, Task<MessageOutcome>> handler,
    ILogger logger) : IDisposable
{
    private readonly SemaphoreSlim _slots = new(concurrency, concurrency);
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly List<Task> _inFlight = [];

    public string Name => queue.Name;

    public void Dispose()
    {
        _slots.Dispose();
        _wake.Dispose();
    }

    /// <summary>Asks the pump to poll now rather than at the end of its back-off.</summary>
    public void Wake()
    {
        try
        {
            if (_wake.CurrentCount == 0)
            {
                _wake.Release();
            }
        }
        catch (SemaphoreFullException)
        {
            // Already awake.
        }
    }

    /// <summary>Runs until <paramref name="stopping"/>; then waits up to <paramref name="grace"/> for work in hand, and releases the rest.</summary>
    public async Task RunAsync(TimeSpan grace, CancellationToken stopping)
    {
        using var abort = new CancellationTokenSource();
        var idle = TimeSpan.FromMilliseconds(5);
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await _slots.WaitAsync(stopping);
                var free = 1;
                while (free < 32 && _slots.Wait(0, CancellationToken.None))
                {
                    free++;
                }
                QueueMessage[] messages;
                try
                {
                    messages = (await queue.ReceiveMessagesAsync(free, lease, stopping)).Value;
                }
                catch
                {
                    _slots.Release(free);
                    throw;
                }
                if (free > messages.Length)
                {
                    _slots.Release(free - messages.Length);
                }
                foreach (var message in messages)
                {
                    Track(HandleAsync(message, abort.Token));
                }
                if (messages.Length == 0)
                {
                    idle = TimeSpan.FromTicks(Math.Min(idle.Ticks * 2, maxPoll.Ticks));
                    await _wake.WaitAsync(idle, stopping);
                }
                else
                {
                    idle = TimeSpan.FromMilliseconds(5);
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (ex is RequestFailedException or HttpRequestException or AggregateException or TimeoutException or OperationCanceledException)
            {
                var delay = TimeSpan.FromSeconds(1);
                logger.QueueUnavailable(queue.Name, (int)delay.TotalMilliseconds, ex.Message);
                await Task.Delay(delay, CancellationToken.None);
            }
        }

        Task[] pending;
        lock (_inFlight)
        {
            pending = [.. _inFlight];
        }
        logger.Draining(queue.Name, pending.Length);
        var all = Task.WhenAll(pending);
        if (await Task.WhenAny(all, Task.Delay(grace, CancellationToken.None)) != all)
        {
            await abort.CancelAsync();
            await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(5), CancellationToken.None));
        }
    }

    private void Track(Task task)
    {
        lock (_inFlight)
        {
            _inFlight.Add(task);
        }
        _ = task.ContinueWith(t =>
        {
            lock (_inFlight)
            {
                _inFlight.Remove(t);
            }
        }, TaskScheduler.Default);
    }

    private async Task HandleAsync(QueueMessage message, CancellationToken abort)
    {
        await Task.Yield();
        using var renewal = CancellationTokenSource.CreateLinkedTokenSource(abort);
        var receipt = message.PopReceipt;
        var renewing = RenewAsync(message, r => receipt = r, renewal.Token);
        try
        {
            var outcome = await handler(message, abort);
            await renewal.CancelAsync();
            await renewing;
            if (outcome == MessageOutcome.Complete)
            {
                await queue.DeleteMessageAsync(message.MessageId, receipt, CancellationToken.None);
            }
            else if (outcome == MessageOutcome.Release)
            {
                await queue.UpdateMessageAsync(message.MessageId, receipt, visibilityTimeout: TimeSpan.Zero, cancellationToken: CancellationToken.None);
            }
        }
        catch (OperationCanceledException) when (abort.IsCancellationRequested)
        {
            await renewal.CancelAsync();
            await renewing;
            await TryReleaseAsync(message.MessageId, receipt);
        }
        catch (Exception ex)
        {
            await renewal.CancelAsync();
            await renewing;
            logger.HandlerFailed(ex, queue.Name);
        }
        finally
        {
            _slots.Release();
        }
    }

    private async Task RenewAsync(QueueMessage message, Action<string> setReceipt, CancellationToken cancellationToken)
    {
        var every = lease / 3;
        try
        {
            while (true)
            {
                await Task.Delay(every, cancellationToken);
                var receipt = await queue.UpdateMessageAsync(message.MessageId, message.PopReceipt, visibilityTimeout: lease, cancellationToken: cancellationToken);
                message = message.Update(receipt.Value);
                setReceipt(message.PopReceipt);
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (RequestFailedException)
        {
            // Lost the lease (or storage is down): the message will reappear and be handled again.
        }
    }

    private async Task TryReleaseAsync(string messageId, string receipt)
    {
        try
        {
            await queue.UpdateMessageAsync(messageId, receipt, visibilityTimeout: TimeSpan.Zero);
        }
        catch (RequestFailedException)
        {
            // It reappears after its lease anyway.
        }
    }
}
