using Agentic.Testing;

namespace Agentic.Runtime.Tests.Infrastructure;

/// <summary>
/// The real sample fleet, one per test class. Tests use services of their own (fresh names), and the
/// fleet counts side effects per idempotency key "{runId}/{stepId}", so tests of a class never mix up.
/// </summary>
public sealed class FleetFixture : IAsyncLifetime
{
    private SampleFleet? _fleet;

    public SampleFleet Fleet => _fleet ?? throw new InvalidOperationException("The fleet is not started.");

    /// <summary>The target URI of a fresh, healthy service.</summary>
    public string HealthyTarget() => Fleet.Target("svc-" + Guid.NewGuid().ToString("N")[..10]);

    /// <summary>The target URI of a fresh service that reports itself degraded.</summary>
    public async Task<string> DegradedTargetAsync()
    {
        var name = "svc-" + Guid.NewGuid().ToString("N")[..10];
        await Fleet.DegradeAsync(name);
        return Fleet.Target(name);
    }

    /// <summary>Makes the fleet's next <paramref name="count"/> side-effect calls, whoever makes them, answer 503.</summary>
    public Task FailNextAsync(int count) => Fleet.FailNextAsync(count);

    /// <summary>Makes the fleet's next side-effect call, whoever makes it, answer <paramref name="delay"/> late, after it was applied.</summary>
    public Task DelayNextAsync(TimeSpan delay) => Fleet.DelayNextAsync(delay);

    /// <summary>The side effects the fleet saw for one run.</summary>
    public async Task<IReadOnlyList<SideEffect>> EffectsOfAsync(string runId) =>
        [.. (await Fleet.EffectsAsync()).Where(e => e.Key.StartsWith(runId + "/", StringComparison.Ordinal))];

    public async ValueTask InitializeAsync() => _fleet = await SampleFleet.StartAsync();

    public async ValueTask DisposeAsync()
    {
        if (_fleet is not null)
        {
            await _fleet.DisposeAsync();
        }
    }
}
