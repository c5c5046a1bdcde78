using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Agentic.Core.Secrets;
using Agentic.Core.Tools.Builtin;

namespace Agentic.Core.Tools;

/// <summary>
/// Runs tool calls within the limits of their contracts, per tool name on this host:
/// <list type="bullet">
/// <item>a bulkhead: at most <see cref="ToolDescriptor.MaxConcurrency"/> calls run at once, callers wait for a slot;</item>
/// <item>a rate limit: at most <see cref="ToolRateLimit.Permits"/> calls start in any window of <see cref="ToolRateLimit.Per"/>, callers wait for a permit;</item>
/// <item>admission (secrets, slot and permit) may take at most <see cref="ToolDescriptor.Timeout"/>, then the call itself at most
/// <see cref="ToolDescriptor.Timeout"/>; a call that ignores its cancellation is abandoned when its time is up;</item>
/// <item>the output may be at most <see cref="ToolDescriptor.MaxOutputBytes"/> of UTF-8 JSON;</item>
/// <item>exactly the secrets the tool declared are resolved and handed to the call; whatever secrets the incoming call carried are dropped;</item>
/// <item>every form of those secrets' values (<see cref="Builtin.Redactor"/>) is taken out of the outcome (summary, output,
/// compensating arguments) and out of any error, whichever tool it is, before either leaves the executor.</item>
/// </list>
/// Failures are <see cref="ToolException"/>s saying whether a retry can help; cancellation by the caller surfaces as
/// <see cref="OperationCanceledException"/>.
/// </summary>
public sealed class ToolExecutor
{
    private static readonly IReadOnlyDictionary<string, string> NoSecrets = new Dictionary<string, string>(StringComparer.Ordinal);

    private readonly ISecretProvider _secrets;
    private readonly TimeProvider _clock;
    private readonly ConcurrentDictionary<string, Limits> _limits = new(StringComparer.Ordinal);

    /// <summary>An executor resolving secrets from <paramref name="secrets"/> and measuring time with <paramref name="timeProvider"/>.</summary>
    public ToolExecutor(ISecretProvider secrets, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(secrets);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _secrets = secrets;
        _clock = timeProvider;
    }

    /// <summary>
    /// The longest <see cref="InvokeAsync"/> can take for a tool: admission and the call are each bounded by its timeout.
    /// A lease held around a call (the idempotency ledger's) must outlast this.
    /// </summary>
    public static TimeSpan MaxDuration(ToolDescriptor descriptor)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        return descriptor.Timeout * 2;
    }

    /// <summary>Calls <paramref name="tool"/> with <paramref name="call"/> within the limits of its descriptor.</summary>
    /// <exception cref="ToolException">The call failed, timed out, waited too long for its limits, or broke its output cap.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<ToolOutcome> InvokeAsync(ITool tool, ToolCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tool);
        ArgumentNullException.ThrowIfNull(call);
        var descriptor = tool.Descriptor;
        var limits = LimitsOf(descriptor);
        using var span = StartSpan(descriptor, call);
        var started = _clock.GetTimestamp();
        try
        {
            var outcome = await InvokeAdmittedAsync(tool, call, descriptor, limits, cancellationToken);
            Measure(span, descriptor, call, started, "ok", null);
            return outcome;
        }
        catch (Exception ex)
        {
            Measure(span, descriptor, call, started, ex is OperationCanceledException ? "cancelled" : "error", ex);
            throw;
        }
    }

    // The call's execute_tool span (OpenTelemetry GenAI conventions), a child of the act span that runs it, or of the
    // run's root when called outside an activity. Names and ids only: no argument, output or error text.
    private static System.Diagnostics.Activity? StartSpan(ToolDescriptor descriptor, ToolCall call)
    {
        var parent = System.Diagnostics.Activity.Current?.Context ?? (string.IsNullOrEmpty(call.RunId) ? default : Telemetry.RunTrace.ContextOf(call.RunId));
        var span = Telemetry.AgenticTelemetry.Source.StartActivity($"execute_tool {descriptor.Name}", System.Diagnostics.ActivityKind.Internal, parent);
        span?.SetTag(Telemetry.AgenticTelemetry.Attr.OperationName, "execute_tool")
            .SetTag(Telemetry.AgenticTelemetry.Attr.ToolName, descriptor.Name)
            .SetTag(Telemetry.AgenticTelemetry.Attr.ToolType, "function")
            .SetTag(Telemetry.AgenticTelemetry.Attr.ToolCallId, call.IdempotencyKey)
            .SetTag(Telemetry.AgenticTelemetry.Attr.ToolVersion, descriptor.Version)
            .SetTag(Telemetry.AgenticTelemetry.Attr.RunId, call.RunId)
            .SetTag(Telemetry.AgenticTelemetry.Attr.StepId, call.StepId);
        return span;
    }

    private void Measure(System.Diagnostics.Activity? span, ToolDescriptor descriptor, ToolCall call, long started, string outcome, Exception? error)
    {
        KeyValuePair<string, object?>[] tags =
        [
            new(Telemetry.AgenticTelemetry.Attr.ToolName, descriptor.Name),
            new(Telemetry.AgenticTelemetry.Attr.ToolOutcome, outcome),
            new(Telemetry.AgenticTelemetry.Attr.AgentName, call.Agent ?? ""),
        ];
        Telemetry.AgenticTelemetry.ToolCalls.Add(1, tags);
        Telemetry.AgenticTelemetry.ToolCallDuration.Record(_clock.GetElapsedTime(started).TotalSeconds, tags);
        span?.SetTag(Telemetry.AgenticTelemetry.Attr.ToolOutcome, outcome);
        if (error is not null)
        {
            Telemetry.RunTrace.Failed(span, error);
        }
    }

    private async Task<ToolOutcome> InvokeAdmittedAsync(ITool tool, ToolCall call, ToolDescriptor descriptor, Limits limits, CancellationToken cancellationToken)
    {
        var (secrets, slot) = await AdmitAsync(descriptor, limits, cancellationToken);
        // The log redaction takes these values out of text that never passes through here (a store's error, say).
        Telemetry.KnownSecrets.Remember(secrets.Values);
        // Whatever the tool does with its secrets, no form of their values leaves the call: not in the outcome (which is
        // stored in the ledger and the run), not in an error (which reaches logs and the run's failure reason).
        var redactor = secrets.Count == 0 ? null : new Redactor(secrets.Values);
        try
        {
            return await RunAsync(tool, call with { Secrets = secrets }, slot, redactor, cancellationToken);
        }
        catch (ToolException ex) when (redactor is not null && (redactor.Finds(ex.Message) || Leaks(ex.InnerException, redactor)))
        {
            // A fresh exception: the inner ones (an HTTP client's, a service's) may quote the value too.
            throw new ToolException(redactor.Redact(ex.Message), ex.Retryable);
        }
        catch (Exception ex) when (redactor is not null && ex is not ToolException and not OperationCanceledException && Leaks(ex, redactor))
        {
            throw new ToolException(redactor.Redact($"{descriptor.Name} failed ({ex.GetType().Name}): {ex.Message}"), retryable: true);
        }
    }

    private static bool Leaks(Exception? exception, Redactor redactor)
    {
        for (var ex = exception; ex is not null; ex = ex.InnerException)
        {
            if (redactor.Finds(ex.Message))
            {
                return true;
            }
        }
        return false;
    }

    private static ToolOutcome Redact(ToolOutcome outcome, Redactor redactor)
    {
        var output = redactor.Redact(outcome.Output);
        var summary = redactor.Redact(outcome.Summary);
        var compensation = outcome.Compensation is { } undo && redactor.Redact(undo.Arguments) is var arguments && !arguments.Equals(undo.Arguments)
            ? undo with { Arguments = arguments }
            : outcome.Compensation;
        return ReferenceEquals(summary, outcome.Summary) && output.Equals(outcome.Output) && ReferenceEquals(compensation, outcome.Compensation)
            ? outcome
            : outcome with { Output = output, Summary = summary, Compensation = compensation };
    }

    /// <summary>How many calls of <paramref name="tool"/> hold a slot right now (abandoned calls until they really end).</summary>
    internal int InUse(string tool) => _limits.TryGetValue(tool, out var limits) ? Volatile.Read(ref limits.InUse) : 0;

    private async Task<(IReadOnlyDictionary<string, string> Secrets, Slot Slot)> AdmitAsync(ToolDescriptor descriptor, Limits limits, CancellationToken cancellationToken)
    {
        var deadline = _clock.GetUtcNow() + descriptor.Timeout;
        using var budget = new CancellationTokenSource(descriptor.Timeout, _clock);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, budget.Token);
        var waitingFor = "its secrets";
        Slot? slot = null;
        try
        {
            var secrets = await ResolveSecretsAsync(descriptor, linked.Token);
            waitingFor = limits.Bulkhead is null ? "" : string.Create(CultureInfo.InvariantCulture, $"a free slot (at most {limits.MaxConcurrency} concurrent calls)");
            slot = await limits.EnterAsync(linked.Token);
            if (limits.Rate is { } rate)
            {
                waitingFor = $"a rate-limit permit ({Describe(rate.Limit)})";
                await rate.WaitAsync(deadline, linked.Token);
            }
            return (secrets, slot);
        }
        catch (OperationCanceledException) when (budget.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            slot?.Dispose();
            throw new ToolException($"{descriptor.Name} waited longer than its timeout of {Seconds(descriptor.Timeout)} s for {waitingFor}.", retryable: true);
        }
        catch (RateLimitWaitTooLongException ex)
        {
            slot?.Dispose();
            throw new ToolException(
                $"{descriptor.Name} would wait {Seconds(ex.Wait)} s for {waitingFor}, longer than its timeout of {Seconds(descriptor.Timeout)} s.", retryable: true);
        }
        catch
        {
            slot?.Dispose();
            throw;
        }
    }

    private async Task<ToolOutcome> RunAsync(ITool tool, ToolCall call, Slot slot, Redactor? redactor, CancellationToken cancellationToken)
    {
        var descriptor = tool.Descriptor;
        var callCancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // On the thread pool, so that a tool that blocks before its first await can be abandoned too.
        var invocation = Task.Run(() => tool.InvokeAsync(call, callCancellation.Token), CancellationToken.None);
        ToolOutcome outcome;
        try
        {
            outcome = await invocation.WaitAsync(descriptor.Timeout, _clock, cancellationToken);
        }
        catch (TimeoutException)
        {
            Abandon(invocation, callCancellation, slot);
            throw new ToolException($"{descriptor.Name} timed out after {Seconds(descriptor.Timeout)} s.", retryable: true);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Abandon(invocation, callCancellation, slot);
            throw;
        }
        catch (OperationCanceledException ex)
        {
            // Cancelled by something of the tool's own (an HTTP client's timeout, say): a transient failure.
            Finish(callCancellation, slot);
            throw new ToolException($"{descriptor.Name} was cancelled before it finished.", retryable: true, ex);
        }
        catch
        {
            Finish(callCancellation, slot);
            throw;
        }
        Finish(callCancellation, slot);

        if (redactor is not null)
        {
            outcome = Redact(outcome, redactor);
        }
        var size = outcome.Output.ValueKind == System.Text.Json.JsonValueKind.Undefined ? 0 : Encoding.UTF8.GetByteCount(outcome.Output.GetRawText());
        if (size > descriptor.MaxOutputBytes)
        {
            throw new ToolException(
                string.Create(CultureInfo.InvariantCulture, $"{descriptor.Name} returned {size} bytes of output, over its cap of {descriptor.MaxOutputBytes} bytes."), retryable: false);
        }
        return outcome;
    }

    // The slot is given back when the abandoned call really ends: while it runs it still loads whatever it calls,
    // which is what the bulkhead protects.
    private static void Abandon(Task<ToolOutcome> invocation, CancellationTokenSource cancellation, Slot slot)
    {
        cancellation.Cancel();
        invocation.ContinueWith(
            static (task, state) =>
            {
                _ = task.Exception;
                var (c, s) = ((CancellationTokenSource, Slot))state!;
                Finish(c, s);
            },
            (cancellation, slot),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    private static void Finish(CancellationTokenSource cancellation, Slot slot)
    {
        cancellation.Dispose();
        slot.Dispose();
    }

    private async Task<IReadOnlyDictionary<string, string>> ResolveSecretsAsync(ToolDescriptor descriptor, CancellationToken cancellationToken)
    {
        if (descriptor.Secrets is not { Count: > 0 } names)
        {
            return NoSecrets;
        }
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in names)
        {
            if (!SecretName.IsValid(name))
            {
                throw new ToolException($"{descriptor.Name} declares '{name}', which is not a valid secret name.", retryable: false);
            }
            if (values.ContainsKey(name))
            {
                continue;
            }
            string? value;
            try
            {
                value = await _secrets.GetAsync(name, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception ex) when (ex is not ToolException)
            {
                // Only the exception's type: a store's message is not ours to vouch for.
                throw new ToolException($"The secret '{name}' of {descriptor.Name} could not be read ({ex.GetType().Name}).", retryable: true, ex);
            }
            values[name] = value ?? throw new ToolException($"{descriptor.Name} needs the secret '{name}', which does not exist.", retryable: false);
        }
        return values;
    }

    private Limits LimitsOf(ToolDescriptor descriptor)
    {
        if (descriptor.MaxConcurrency is < 1)
        {
            throw new ToolException($"{descriptor.Name}@{descriptor.Version} declares a MaxConcurrency below 1.", retryable: false);
        }
        if (descriptor.RateLimit is { } rate && (rate.Permits < 1 || rate.Per <= TimeSpan.Zero))
        {
            throw new ToolException($"{descriptor.Name}@{descriptor.Version} declares an invalid rate limit ({rate.Permits} per {rate.Per}).", retryable: false);
        }
        // Keyed by name; a new contract with other limits (a new version deployed) starts from fresh limits.
        return _limits.AddOrUpdate(
            descriptor.Name,
            static (_, state) => new Limits(state.descriptor, state.clock),
            static (_, existing, state) => existing.Matches(state.descriptor) ? existing : new Limits(state.descriptor, state.clock),
            (descriptor, clock: _clock));
    }

    private static string Describe(ToolRateLimit limit) => string.Create(CultureInfo.InvariantCulture, $"{limit.Permits} per {Seconds(limit.Per)} s");

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);

    private sealed class Limits(ToolDescriptor descriptor, TimeProvider clock)
    {
        public int InUse;

        public int? MaxConcurrency { get; } = descriptor.MaxConcurrency;

        public SemaphoreSlim? Bulkhead { get; } = descriptor.MaxConcurrency is { } n ? new SemaphoreSlim(n, n) : null;

        public RateGate? Rate { get; } = descriptor.RateLimit is { } limit ? new RateGate(limit, clock) : null;

        public bool Matches(ToolDescriptor d) => d.MaxConcurrency == MaxConcurrency && d.RateLimit == Rate?.Limit;

        public async Task<Slot> EnterAsync(CancellationToken cancellationToken)
        {
            if (Bulkhead is not null)
            {
                await Bulkhead.WaitAsync(cancellationToken);
            }
            Interlocked.Increment(ref InUse);
            return new Slot(this);
        }

        public void Exit()
        {
            Interlocked.Decrement(ref InUse);
            Bulkhead?.Release();
        }
    }

    private sealed class Slot(Limits limits) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                limits.Exit();
            }
        }
    }

    /// <summary>
    /// A token bucket whose tokens come back one window after they were taken: a new call may start once fewer than
    /// <see cref="ToolRateLimit.Permits"/> calls started in the window before it, so no window of that length ever
    /// holds more starts. Reservations are first come, first served.
    /// </summary>
    private sealed class RateGate(ToolRateLimit limit, TimeProvider clock)
    {
        private readonly List<DateTimeOffset> _starts = [];

        public ToolRateLimit Limit => limit;

        public async Task WaitAsync(DateTimeOffset deadline, CancellationToken cancellationToken)
        {
            DateTimeOffset at;
            TimeSpan wait;
            lock (_starts)
            {
                var now = clock.GetUtcNow();
                var stale = _starts.FindIndex(s => s > now - limit.Per);
                _starts.RemoveRange(0, stale < 0 ? _starts.Count : stale);
                at = now;
                if (_starts.Count > 0 && _starts[^1] > at)
                {
                    at = _starts[^1];
                }
                if (_starts.Count >= limit.Permits && _starts[^limit.Permits] + limit.Per > at)
                {
                    at = _starts[^limit.Permits] + limit.Per;
                }
                wait = at - now;
                if (at > deadline)
                {
                    throw new RateLimitWaitTooLongException(wait);
                }
                _starts.Add(at);
            }
            if (wait <= TimeSpan.Zero)
            {
                return;
            }
            try
            {
                await Task.Delay(wait, clock, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                // An unused reservation is given back; fewer starts never break the limit.
                lock (_starts)
                {
                    _starts.Remove(at);
                }
                throw;
            }
        }
    }

    private sealed class RateLimitWaitTooLongException(TimeSpan wait) : Exception
    {
        public TimeSpan Wait { get; } = wait;
    }
}
