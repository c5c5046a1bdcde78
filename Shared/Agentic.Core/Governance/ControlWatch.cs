namespace Agentic.Core.Governance;

/// <summary>
/// Watches the engaged controls while tool calls are in flight, so a kill switch or quarantine engaged during a
/// call cancels it. One poll of the control store per <see cref="Interval"/> serves every call in flight on the
/// host; nothing polls while no call is in flight. A poll that fails leaves the calls running (the gate and the
/// check before the call already passed) and is tried again at the next interval.
/// </summary>
public sealed class ControlWatch(IControlStore controls, TimeProvider clock, TimeSpan interval)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<long, Registration> _watches = [];
    private long _next;
    private bool _polling;

    /// <summary>A watch that polls every second.</summary>
    public ControlWatch(IControlStore controls, TimeProvider clock) : this(controls, clock, TimeSpan.FromSeconds(1)) { }

    /// <summary>How often the engaged controls are read while calls are in flight.</summary>
    public TimeSpan Interval => interval;

    /// <summary>Polls completed so far (for tests and diagnostics).</summary>
    public long Polls { get; private set; }

    /// <summary>
    /// Calls <paramref name="onEngaged"/> once, from the polling task, when a control that applies to a call of
    /// <paramref name="tool"/> by <paramref name="agent"/> is found engaged. Dispose the result when the call ends.
    /// </summary>
    public IDisposable Watch(string agent, string tool, Action<ControlState> onEngaged)
    {
        ArgumentNullException.ThrowIfNull(onEngaged);
        lock (_gate)
        {
            var id = ++_next;
            _watches[id] = new Registration(agent, tool, onEngaged);
            if (!_polling)
            {
                _polling = true;
                _ = Task.Run(PollAsync);
            }
            return new Unwatch(this, id);
        }
    }

    private async Task PollAsync()
    {
        while (true)
        {
            await Task.Delay(interval, clock).ConfigureAwait(false);
            KeyValuePair<long, Registration>[] watching;
            lock (_gate)
            {
                if (_watches.Count == 0)
                {
                    _polling = false;
                    return;
                }
                watching = [.. _watches];
            }
            IReadOnlyList<ControlState> active;
            try
            {
                active = await controls.ListActiveAsync(CancellationToken.None).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // An unreachable store must not stop the watch; the next poll tries again.
            catch (Exception)
#pragma warning restore CA1031
            {
                continue;
            }
            finally
            {
                Polls++;
            }
            foreach (var (id, watch) in watching)
            {
                var control = active.Where(c => Controls.AppliesTo(c, watch.Agent, watch.Tool)).OrderBy(c => c.Scope).ThenBy(c => c.Kind).FirstOrDefault();
                if (control is null)
                {
                    continue;
                }
                lock (_gate)
                {
                    if (!_watches.Remove(id))
                    {
                        continue;
                    }
                }
                watch.OnEngaged(control);
            }
        }
    }

    private void Remove(long id)
    {
        lock (_gate)
        {
            _watches.Remove(id);
        }
    }

    private sealed record Registration(string Agent, string Tool, Action<ControlState> OnEngaged);

    private sealed class Unwatch(ControlWatch owner, long id) : IDisposable
    {
        public void Dispose() => owner.Remove(id);
    }
}
