using Agentic.Core.Agents;
using Agentic.Core.Runs;
using Agentic.Durable;
using Agentic.Runtime.Tests.Infrastructure;
using Agentic.Testing;
using Microsoft.Extensions.Options;

namespace Agentic.Runtime.Tests;

/// <summary>The deployment's side of the trust boundary on the real runtime: its environment and its run targets.</summary>
public sealed class DeploymentGateTests(AzuriteFixture azurite, FleetFixture fleet) : RuntimeTest(azurite, fleet), IClassFixture<FleetFixture>
{
    [Fact]
    public async Task Host_WithoutAnEnvironment_RefusesToStart_NamingTheSetting()
    {
        var runtime = CreateRuntime(new Dictionary<string, string?> { ["Agentic:Environment"] = null });

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(runtime.StartAsync);

        Assert.Contains("Agentic:Environment is required", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunWhoseTargetNoRuleAllows_FailsAtPerception_AndNothingIsFetched()
    {
        var runtime = await StartRuntimeAsync();
        // Submitted past the parser (as a run started under other settings would be): perception checks again.
        var elsewhere = new UriBuilder(Fleet.HealthyTarget()) { Port = Ports.Free() }.Uri.ToString().TrimEnd('/');
        var request = Requests.Parse(new { agent = "diagnostics", target = elsewhere, parameters = new { probes = 1 } }, AgentCatalog.Default, "dev");

        var run = await runtime.WaitTerminalAsync(await SubmitAsync(runtime, request));

        AssertFailed(run, $"The target is not an allowed run target: no rule of Agentic:Targets:Allow allows http://127.0.0.1:{new Uri(elsewhere).Port}.");
        Assert.Equal(0, run.View.ToolCalls);
        Assert.Empty(runtime.Network.Connections);
    }
}
