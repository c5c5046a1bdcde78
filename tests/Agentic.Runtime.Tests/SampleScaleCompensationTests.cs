using System.Text.Json;
using Agentic.Core.Agents;
using Agentic.Core.Tools;
using Agentic.Core.Tools.Builtin;
using Agentic.Testing;
using Agentic.Runtime.Tests.Infrastructure;

namespace Agentic.Runtime.Tests;

/// <summary>sample.scale against the real sample fleet: its outcome names the call that undoes it.</summary>
public sealed class SampleScaleCompensationTests(FleetFixture fleet) : IClassFixture<FleetFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Scale_ReportsThePreviousReplicas_AndItsCompensationScalesBack()
    {
        var network = new LoopbackOnlyNetwork();
        using var client = new EgressClient(network.ResolveAsync, network.ConnectAsync);
        var targets = Requests.Admission(fleet.Fleet.BaseUri, AgentCatalog.Default).Targets;
        var scale = SampleServiceTools.Create(targets, client).Single(t => t.Descriptor.Name == "sample.scale");
        var target = fleet.HealthyTarget();

        var outcome = await scale.InvokeAsync(new ToolCall("run-c", "s1", target, JsonSerializer.SerializeToElement(new { replicas = 5 }), "run-c/" + Guid.NewGuid().ToString("N")), Ct);

        Assert.Equal(2, outcome.Output.GetProperty("previousReplicas").GetInt32());
        Assert.NotNull(outcome.Compensation);
        Assert.Equal("sample.scale", outcome.Compensation.Tool);
        Assert.Equal("""{"replicas":2}""", outcome.Compensation.Arguments.GetRawText());
        Assert.Equal(scale.Descriptor.CompensatingTool, outcome.Compensation.Tool);

        var undo = await scale.InvokeAsync(new ToolCall("run-c", "s1-undo", target, outcome.Compensation.Arguments, "run-c/" + Guid.NewGuid().ToString("N")), Ct);

        Assert.Equal(2, undo.Output.GetProperty("replicas").GetInt32());
        Assert.Equal("""{"replicas":5}""", undo.Compensation?.Arguments.GetRawText());
    }
}
