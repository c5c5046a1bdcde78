using Agentic.Runtime.Http;
using Agentic.Runtime.Tests.Infrastructure;
using Agentic.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Agentic.Runtime.Tests;

/// <summary>Health on the real runtime: each dependency of the gate and the engine checked the way they use it.</summary>
public sealed class HealthTests(AzuriteFixture azurite, FleetFixture fleet) : RuntimeTest(azurite, fleet), IClassFixture<FleetFixture>
{
    [Fact]
    public async Task Health_RuntimeStarted_EveryCheckIsUp()
    {
        var runtime = await StartRuntimeAsync(services: s => s.AddAgenticHealth());

        var checks = await Check(runtime);

        Assert.True(AgenticHealth.AllUp(checks), Describe(checks));
        Assert.Equal(["engine", "policy", "secrets", "storage"], checks.Keys.Order(StringComparer.Ordinal));
        Assert.StartsWith("The audit signing key p256:", checks["secrets"].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Health_SigningKeyGoneFromTheSecretStore_SecretsAreDown_WithoutTheStoresMessage()
    {
        var runtime = await StartRuntimeAsync(services: s => s.AddAgenticHealth());
        // The secret is deleted from the store while the host runs (the host does not start without it).
        runtime.Services.GetRequiredService<IConfiguration>()["Agentic:Secrets:audit-signing-key"] = null;

        var checks = await Check(runtime);

        Assert.False(AgenticHealth.AllUp(checks));
        Assert.Equal("down", checks["secrets"].Status);
        Assert.Equal("Failed: InvalidOperationException.", checks["secrets"].Reason);
        Assert.Equal("up", checks["storage"].Status);
        Assert.Equal("up", checks["engine"].Status);
    }

    [Fact]
    public async Task Health_EngineNotStarted_EngineIsDown()
    {
        var runtime = CreateRuntime(services: s => s.AddAgenticHealth());

        var checks = await Check(runtime);

        Assert.False(AgenticHealth.AllUp(checks));
        Assert.Equal("down", checks["engine"].Status);
        Assert.StartsWith("Starting", checks["engine"].Reason, StringComparison.Ordinal);
    }

    private static Task<IReadOnlyDictionary<string, HealthCheckView>> Check(LocalRuntime runtime) =>
        runtime.Services.GetRequiredService<AgenticHealth>().CheckAsync(runtime.Engine, Ct);

    private static string Describe(IReadOnlyDictionary<string, HealthCheckView> checks) =>
        string.Join("; ", checks.Select(c => $"{c.Key} {c.Value.Status}: {c.Value.Reason}"));
}
