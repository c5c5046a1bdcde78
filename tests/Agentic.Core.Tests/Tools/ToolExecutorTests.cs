using System.Collections.Concurrent;
using System.Text.Json;
using Agentic.Core.Secrets;
using Agentic.Core.Tools;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Time.Testing;

namespace Agentic.Core.Tests.Tools;

public sealed class ToolExecutorTests
{
    private static readonly ToolDescriptor Plain = new("t.exec", "1.0.0", "A test tool.", RiskLevel.Low, SideEffect.ReadOnly, Idempotent: true, TimeSpan.FromSeconds(30), 1024);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static ToolCall Call(IReadOnlyDictionary<string, string>? secrets = null) =>
        new ToolCall("run-1", "s1", "http://target", TestJson.Parse("{}"), "run-1/s1") { Secrets = secrets ?? new Dictionary<string, string>() };

    private static ToolOutcome Ok(string json = "{}") => new(200, "ok", TestJson.Parse(json));

    [Fact]
    public async Task Bulkhead_NeverRunsMoreThanMaxConcurrencyCallsAtOnce()
    {
        var executor = new ToolExecutor(new MemorySecrets(), TimeProvider.System);
        var gate = new SemaphoreSlim(0);
        var running = 0;
        var peak = 0;
        var tool = new DelegateTool(Plain with { MaxConcurrency = 2 }, async (_, ct) =>
        {
            var now = Interlocked.Increment(ref running);
            InterlockedMax(ref peak, now);
            await gate.WaitAsync(ct);
            Interlocked.Decrement(ref running);
            return Ok();
        });

        var calls = Enumerable.Range(0, 6).Select(_ => executor.InvokeAsync(tool, Call(), Ct)).ToList();
        await WaitUntilAsync(() => Volatile.Read(ref running) == 2);
        await Task.Delay(100, Ct);
        Assert.Equal(2, Volatile.Read(ref running));
        Assert.Equal(2, executor.InUse("t.exec"));

        for (var released = 0; released < 6; released++)
        {
            gate.Release();
            await Task.Delay(20, Ct);
            Assert.InRange(Volatile.Read(ref running), 0, 2);
        }
        await Task.WhenAll(calls).WaitAsync(TimeSpan.FromSeconds(10), Ct);

        Assert.Equal(2, peak);
        Assert.Equal(6, calls.Count(c => c.IsCompletedSuccessfully));
        Assert.Equal(0, executor.InUse("t.exec"));
    }

    [Fact]
    public async Task Bulkhead_WaitLongerThanTheTimeout_FailsRetryablyNamingTheSlot()
    {
        var clock = new FakeTimeProvider();
        var executor = new ToolExecutor(new MemorySecrets(), clock);
        var release = new TaskCompletionSource();
        var calls = 0;
        var tool = new DelegateTool(Plain with { MaxConcurrency = 1, Timeout = TimeSpan.FromSeconds(5) }, async (_, _) =>
        {
            Interlocked.Increment(ref calls);
            await release.Task;
            return Ok();
        });
        var first = executor.InvokeAsync(tool, Call(), Ct);
        await WaitUntilAsync(() => Volatile.Read(ref calls) == 1);

        var second = executor.InvokeAsync(tool, Call(), Ct);
        clock.Advance(TimeSpan.FromSeconds(4.9));
        Assert.False(second.IsCompleted);
        clock.Advance(TimeSpan.FromSeconds(0.1));

        var ex = await Assert.ThrowsAsync<ToolException>(() => second.WaitAsync(TimeSpan.FromSeconds(10), Ct));
        Assert.True(ex.Retryable);
        Assert.Equal("t.exec waited longer than its timeout of 5 s for a free slot (at most 1 concurrent calls).", ex.Message);
        Assert.Equal(1, calls);
        // The first call ran out of its own time meanwhile; it still holds the only slot until it really ends.
        Assert.Equal("t.exec timed out after 5 s.", (await Assert.ThrowsAsync<ToolException>(() => first.WaitAsync(TimeSpan.FromSeconds(10), Ct))).Message);
        Assert.Equal(1, executor.InUse("t.exec"));
        release.SetResult();
        await WaitUntilAsync(() => executor.InUse("t.exec") == 0);
    }

    [Fact]
    public async Task RateLimit_SpacesStartsSoNoWindowHoldsMoreThanThePermits()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2030-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var t0 = clock.GetUtcNow();
        var executor = new ToolExecutor(new MemorySecrets(), clock);
        var starts = new ConcurrentQueue<TimeSpan>();
        var tool = new DelegateTool(Plain with { RateLimit = new(2, TimeSpan.FromSeconds(10)), Timeout = TimeSpan.FromSeconds(60) }, (_, _) =>
        {
            starts.Enqueue(clock.GetUtcNow() - t0);
            return Task.FromResult(Ok());
        });

        var calls = Enumerable.Range(0, 5).Select(_ => executor.InvokeAsync(tool, Call(), Ct)).ToList();
        await WaitUntilAsync(() => starts.Count == 2);
        await Task.Delay(50, Ct);
        Assert.Equal(2, starts.Count);

        clock.Advance(TimeSpan.FromSeconds(9.9));
        await Task.Delay(50, Ct);
        Assert.Equal(2, starts.Count);
        clock.Advance(TimeSpan.FromSeconds(0.1));
        await WaitUntilAsync(() => starts.Count == 4);
        clock.Advance(TimeSpan.FromSeconds(10));
        await Task.WhenAll(calls).WaitAsync(TimeSpan.FromSeconds(10), Ct);

        Assert.Equal([0, 0, 10, 10, 20], starts.Select(s => s.TotalSeconds).Order());
    }

    [Fact]
    public async Task RateLimit_APermitFurtherAwayThanTheTimeout_FailsAtOnceWithoutCallingTheTool()
    {
        var clock = new FakeTimeProvider();
        var executor = new ToolExecutor(new MemorySecrets(), clock);
        var calls = 0;
        var tool = new DelegateTool(Plain with { RateLimit = new(1, TimeSpan.FromMinutes(1)), Timeout = TimeSpan.FromSeconds(10) }, (_, _) =>
        {
            Interlocked.Increment(ref calls);
            return Task.FromResult(Ok());
        });
        await executor.InvokeAsync(tool, Call(), Ct);

        var ex = await Assert.ThrowsAsync<ToolException>(() => executor.InvokeAsync(tool, Call(), Ct));

        Assert.True(ex.Retryable);
        Assert.Equal("t.exec would wait 60 s for a rate-limit permit (1 per 60 s), longer than its timeout of 10 s.", ex.Message);
        Assert.Equal(1, calls);
        Assert.Equal(0, executor.InUse("t.exec"));
    }

    [Fact]
    public async Task Timeout_AbandonsAToolThatIgnoresCancellation_AndHoldsItsSlotUntilItEnds()
    {
        var clock = new FakeTimeProvider();
        var executor = new ToolExecutor(new MemorySecrets(), clock);
        var never = new TaskCompletionSource<ToolOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
        var sawCancellation = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var tool = new DelegateTool(Plain with { Timeout = TimeSpan.FromSeconds(5), MaxConcurrency = 1 }, (_, ct) =>
        {
            ct.Register(() => sawCancellation.TrySetResult());
            return never.Task;
        });

        var call = executor.InvokeAsync(tool, Call(), Ct);
        clock.Advance(TimeSpan.FromSeconds(5));
        var ex = await Assert.ThrowsAsync<ToolException>(() => call.WaitAsync(TimeSpan.FromSeconds(10), Ct));

        Assert.True(ex.Retryable);
        Assert.Equal("t.exec timed out after 5 s.", ex.Message);
        await sawCancellation.Task.WaitAsync(TimeSpan.FromSeconds(5), Ct);
        Assert.Equal(1, executor.InUse("t.exec"));
        never.SetResult(Ok());
        await WaitUntilAsync(() => executor.InUse("t.exec") == 0);
    }

    [Fact]
    public async Task Timeout_AbandonsAToolThatBlocksItsThread()
    {
        var executor = new ToolExecutor(new MemorySecrets(), TimeProvider.System);
        using var release = new ManualResetEventSlim();
        var tool = new DelegateTool(Plain with { Timeout = TimeSpan.FromMilliseconds(200) }, (_, _) =>
        {
            release.Wait(TimeSpan.FromSeconds(10), CancellationToken.None);
            return Task.FromResult(Ok());
        });

        var ex = await Assert.ThrowsAsync<ToolException>(() => executor.InvokeAsync(tool, Call(), Ct).WaitAsync(TimeSpan.FromSeconds(5), Ct));

        Assert.Equal("t.exec timed out after 0.2 s.", ex.Message);
        release.Set();
    }

    [Fact]
    public async Task CallerCancellation_PropagatesAsOperationCanceled()
    {
        var executor = new ToolExecutor(new MemorySecrets(), TimeProvider.System);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var tool = new DelegateTool(Plain, async (_, ct) =>
        {
            await Task.Delay(Timeout.Infinite, ct);
            return Ok();
        });

        var call = executor.InvokeAsync(tool, Call(), cts.Token);
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call.WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None));
    }

    [Fact]
    public async Task OutputCap_AnOutputOverMaxOutputBytes_FailsNonRetryablyNamingSizeAndLimit()
    {
        var executor = new ToolExecutor(new MemorySecrets(), TimeProvider.System);
        var tool = new DelegateTool(Plain with { MaxOutputBytes = 1024 }, (_, _) =>
            Task.FromResult(Ok(JsonSerializer.Serialize(new string('x', 1998)))));

        var ex = await Assert.ThrowsAsync<ToolException>(() => executor.InvokeAsync(tool, Call(), Ct));

        Assert.False(ex.Retryable);
        Assert.Equal("t.exec returned 2000 bytes of output, over its cap of 1024 bytes.", ex.Message);
    }

    [Fact]
    public async Task OutputCap_AnOutputOfExactlyTheCap_IsReturned()
    {
        var executor = new ToolExecutor(new MemorySecrets(), TimeProvider.System);
        var tool = new DelegateTool(Plain with { MaxOutputBytes = 1024 }, (_, _) =>
            Task.FromResult(Ok(JsonSerializer.Serialize(new string('x', 1022)))));

        var outcome = await executor.InvokeAsync(tool, Call(), Ct);

        Assert.Equal(1022, outcome.Output.GetString()!.Length);
    }

    [Fact]
    public async Task Secrets_TheToolGetsExactlyItsDeclaredSecrets_NotOnesTheCallCarried()
    {
        var provider = new MemorySecrets(("fleet-token", "declared-value"), ("other-token", "undeclared-value"));
        var executor = new ToolExecutor(provider, TimeProvider.System);
        IReadOnlyDictionary<string, string>? seen = null;
        var tool = new DelegateTool(Plain with { Secrets = ["fleet-token"] }, (call, _) =>
        {
            seen = call.Secrets;
            return Task.FromResult(Ok());
        });

        await executor.InvokeAsync(tool, Call(new Dictionary<string, string> { ["other-token"] = "smuggled-value" }), Ct);

        Assert.Equal(new Dictionary<string, string> { ["fleet-token"] = "declared-value" }, seen);
        Assert.Equal(["fleet-token"], provider.Asked);
    }

    [Fact]
    public async Task Secrets_AToolDeclaringNone_GetsNone()
    {
        var executor = new ToolExecutor(new MemorySecrets(("fleet-token", "v")), TimeProvider.System);
        IReadOnlyDictionary<string, string>? seen = null;
        var tool = new DelegateTool(Plain, (call, _) =>
        {
            seen = call.Secrets;
            return Task.FromResult(Ok());
        });

        await executor.InvokeAsync(tool, Call(new Dictionary<string, string> { ["fleet-token"] = "smuggled" }), Ct);

        Assert.Empty(seen!);
    }

    [Fact]
    public async Task Secrets_AMissingDeclaredSecret_FailsNonRetryablyNamingItWithoutCallingTheTool()
    {
        var executor = new ToolExecutor(new MemorySecrets(("present", "v")), TimeProvider.System);
        var calls = 0;
        var tool = new DelegateTool(Plain with { Secrets = ["present", "absent-token"] }, (_, _) =>
        {
            calls++;
            return Task.FromResult(Ok());
        });

        var ex = await Assert.ThrowsAsync<ToolException>(() => executor.InvokeAsync(tool, Call(), Ct));

        Assert.False(ex.Retryable);
        Assert.Equal("t.exec needs the secret 'absent-token', which does not exist.", ex.Message);
        Assert.Equal(0, calls);
        Assert.Equal(0, executor.InUse("t.exec"));
    }

    [Fact]
    public async Task Secrets_AProviderFailure_IsRetryableAndCarriesNoValue()
    {
        var executor = new ToolExecutor(new FailingSecrets(), TimeProvider.System);
        var tool = new DelegateTool(Plain with { Secrets = ["fleet-token"] }, (_, _) => Task.FromResult(Ok()));

        var ex = await Assert.ThrowsAsync<ToolException>(() => executor.InvokeAsync(tool, Call(), Ct));

        Assert.True(ex.Retryable);
        Assert.Equal("The secret 'fleet-token' of t.exec could not be read (InvalidOperationException).", ex.Message);
    }

    [Fact]
    public async Task ConfigurationSecretProvider_ReadsAgenticSecrets_AndRefusesBadNames()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Agentic:Secrets:fleet-token"] = "abc",
            ["Agentic:Secrets:empty"] = "",
        }).Build();
        var provider = new ConfigurationSecretProvider(configuration);

        Assert.Equal("abc", await provider.GetAsync("fleet-token", Ct));
        Assert.Null(await provider.GetAsync("empty", Ct));
        Assert.Null(await provider.GetAsync("absent", Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => provider.GetAsync("Agentic:Egress", Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => provider.GetAsync(new string('a', 128), Ct));
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while (value > (current = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < until, "The condition did not hold within 10 s.");
            await Task.Delay(10, Ct);
        }
    }
}

/// <summary>A tool that runs a delegate.</summary>
internal sealed class DelegateTool(ToolDescriptor descriptor, Func<ToolCall, CancellationToken, Task<ToolOutcome>> run) : ITool
{
    public ToolDescriptor Descriptor => descriptor;

    public Task<ToolOutcome> InvokeAsync(ToolCall invocation, CancellationToken cancellationToken) => run(invocation, cancellationToken);
}

/// <summary>Secrets in memory; records which names were asked for.</summary>
internal sealed class MemorySecrets(params (string Name, string Value)[] secrets) : ISecretProvider
{
    private readonly Dictionary<string, string> _values = secrets.ToDictionary(s => s.Name, s => s.Value, StringComparer.Ordinal);

    public ConcurrentQueue<string> Asked { get; } = new();

    public Task<string?> GetAsync(string name, CancellationToken cancellationToken)
    {
        Asked.Enqueue(name);
        return Task.FromResult(_values.GetValueOrDefault(name));
    }
}

/// <summary>A secret store that can not answer.</summary>
internal sealed class FailingSecrets : ISecretProvider
{
    public Task<string?> GetAsync(string name, CancellationToken cancellationToken) =>
        throw new InvalidOperationException("vault unreachable");
}
