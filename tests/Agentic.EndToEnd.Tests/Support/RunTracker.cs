using Agentic.Core.Runs;
using System.Collections.Concurrent;
using System.Net;

namespace Agentic.EndToEnd.Tests.Support;

/// <summary>An accepted run the tracker follows: where it was submitted and what was last seen of it.</summary>
public sealed class TrackedRun(string id, PlannedRun plan, AgenticClient client)
{
    /// <summary>The run id from the 202 answer.</summary>
    public string Id { get; } = id;

    /// <summary>What was submitted.</summary>
    public PlannedRun Plan { get; } = plan;

    /// <summary>The host API the run is read (and approved) through.</summary>
    public AgenticClient Client { get; } = client;

    /// <summary>The terminal view (the first 200 answer), once there is one.</summary>
    public RunView? Final { get; internal set; }

    /// <summary>The last answer to GET: status code, or the exception type while the host was unreachable.</summary>
    public string LastAnswer { get; internal set; } = "none yet";

    /// <summary>The last view seen (202 or 200).</summary>
    public RunView? Last { get; internal set; }

    internal HashSet<string> Approved { get; } = new(StringComparer.Ordinal);

    internal Dictionary<string, DateTime> ApproveAt { get; } = new(StringComparer.Ordinal);
}

/// <summary>
/// Follows accepted runs in the background over HTTP: polls each until GET answers 200 and, acting as an
/// operator, approves every pending approval once, after a think time (an approval that fails, e.g. while the
/// host is down, is retried on the next poll). Hosts may be down at any time; unreachable answers are polled again.
/// </summary>
public sealed class RunTracker : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, TrackedRun> _runs = new(StringComparer.Ordinal);
    private readonly Caller? _approver;
    private readonly Func<TimeSpan> _thinkTime;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly List<string> _submitFailures = [];
    private int _approvals;
    private int _failedApprovals;

    /// <summary>
    /// Starts following; <paramref name="approver"/> approves pending steps (none: nobody approves), each once it has
    /// waited for <paramref name="thinkTime"/> (called from the tracker's loop only; default: at once).
    /// </summary>
    public RunTracker(Caller? approver, Func<TimeSpan>? thinkTime = null)
    {
        _approver = approver;
        _thinkTime = thinkTime ?? (() => TimeSpan.Zero);
        _loop = Task.Run(() => LoopAsync(_stop.Token));
    }

    /// <summary>Every run added so far.</summary>
    public IReadOnlyCollection<TrackedRun> Runs => [.. _runs.Values];

    /// <summary>Runs not seen terminal yet.</summary>
    public int Pending => _runs.Values.Count(r => r.Final is null);

    /// <summary>Approvals the host accepted (202).</summary>
    public int Approvals => Volatile.Read(ref _approvals);

    /// <summary>Approval posts that failed (host down, storage down, 5xx) and were retried.</summary>
    public int FailedApprovals => Volatile.Read(ref _failedApprovals);

    /// <summary>POST attempts that failed (host down or killed mid-request) and were sent again with the same idempotency key.</summary>
    public int Resubmissions => _submitFailures.Count;

    /// <summary>Why POST attempts failed, counted by reason (status or exception, first 80 characters).</summary>
    public IReadOnlyDictionary<string, int> SubmitFailures =>
        _submitFailures.GroupBy(f => f.Length > 80 ? f[..80] : f).ToDictionary(g => g.Key, g => g.Count());

    /// <summary>Accepted submissions that found their run already started (an earlier attempt's answer was lost).</summary>
    public int FoundExisting { get; private set; }

    /// <summary>
    /// Submits <paramref name="plan"/> through <paramref name="client"/> until it is accepted (one caller at a time)
    /// and follows the run.
    /// </summary>
    public async Task<TrackedRun> SubmitAsync(PlannedRun plan, AgenticClient client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(client);
        var (created, failures) = await client.SubmitUntilAcceptedAsync(plan.Body, Caller.Requester, TimeSpan.FromSeconds(60), cancellationToken);
        _submitFailures.AddRange(failures);
        FoundExisting += created.Created ? 0 : 1;
        return Add(created.Id, plan, client);
    }

    /// <summary>Follows a run accepted through <paramref name="client"/>.</summary>
    public TrackedRun Add(string id, PlannedRun plan, AgenticClient client)
    {
        var run = new TrackedRun(id, plan, client);
        Assert.True(_runs.TryAdd(id, run), $"Run {id} was accepted twice for different requests.");
        return run;
    }

    /// <summary>
    /// Waits until every run is terminal; on timeout fails with each unfinished run's last known state and
    /// <paramref name="context"/> (the hosts' output).
    /// </summary>
    public async Task<IReadOnlyCollection<TrackedRun>> WaitAllTerminalAsync(TimeSpan timeout, Func<string> context, CancellationToken cancellationToken)
    {
        var until = DateTime.UtcNow + timeout;
        while (Pending > 0 && DateTime.UtcNow < until)
        {
            if (_loop.IsFaulted)
            {
                await _loop; // Surfaces what broke the tracker (e.g. an unreadable answer).
            }
            await Task.Delay(200, cancellationToken);
        }
        var stuck = _runs.Values.Where(r => r.Final is null).ToList();
        Assert.True(stuck.Count == 0,
            $"{stuck.Count} of {_runs.Count} accepted run(s) not terminal after {timeout}:\n" +
            string.Join('\n', stuck.Select(Describe)) + "\n--- host output ---\n" + context());
        return Runs;
    }

    /// <summary>One line about a run for failure messages.</summary>
    public static string Describe(TrackedRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        var view = run.Final ?? run.Last;
        var last = view is { Log.Count: > 0 } ? view.Log[^1] : null;
        return $"  {run.Id} ({run.Plan.Agent} on {run.Plan.Service}): GET {run.LastAnswer}, status {view?.Status ?? "?"}, phase {view?.Phase ?? "?"}, " +
               $"failure '{view?.FailureReason}', last log '{last?.Kind}: {last?.Message}'";
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }
        _stop.Dispose();
    }

    private async Task LoopAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            foreach (var run in _runs.Values.Where(r => r.Final is null))
            {
                await PollAsync(run, stop);
            }
            await Task.Delay(250, stop);
        }
    }

    private async Task PollAsync(TrackedRun run, CancellationToken stop)
    {
        try
        {
            var (status, view) = await run.Client.GetRunAsync(run.Id, stop);
            run.LastAnswer = ((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture);
            run.Last = view ?? run.Last;
            if (status == HttpStatusCode.OK)
            {
                run.Final = view;
            }
            else if (status == HttpStatusCode.Accepted && view?.PendingApproval is { } pending && _approver is not null && !run.Approved.Contains(pending.StepId))
            {
                if (!run.ApproveAt.TryGetValue(pending.StepId, out var at))
                {
                    run.ApproveAt[pending.StepId] = at = DateTime.UtcNow + _thinkTime();
                }
                if (DateTime.UtcNow >= at)
                {
                    await ApproveAsync(run, pending, _approver, stop);
                }
            }
        }
        catch (Exception ex) when (AgenticClient.IsUnreachable(ex, stop))
        {
            run.LastAnswer = ex.GetType().Name;
        }
    }

    private async Task ApproveAsync(TrackedRun run, PendingApprovalView pending, Caller approver, CancellationToken stop)
    {
        try
        {
            using var answer = await run.Client.DecideAsync(new Uri(pending.ApprovePostUri!), "approve", approver, stop);
            if (answer.StatusCode == HttpStatusCode.Accepted)
            {
                run.Approved.Add(pending.StepId);
                Interlocked.Increment(ref _approvals);
                return;
            }
            if (answer.StatusCode == HttpStatusCode.Conflict)
            {
                // The run moved on meanwhile (e.g. an earlier approval whose answer was lost): the next poll tells.
                return;
            }
        }
        catch (Exception ex) when (AgenticClient.IsUnreachable(ex, stop))
        {
        }
        // The host or its storage failed: the next poll approves again.
        Interlocked.Increment(ref _failedApprovals);
    }
}
