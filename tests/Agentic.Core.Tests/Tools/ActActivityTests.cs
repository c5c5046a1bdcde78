using Agentic.Core.Activities;
using Agentic.Core.Agents;
using Agentic.Core.Json;
using Agentic.Core.Tools;

namespace Agentic.Core.Tests.Tools;

public sealed class ActActivityTests
{
    private readonly Agentic.Testing.AuditingDecisionStore _decisions = new(new MemoryDecisionStore(), Agentic.Testing.TestAudit.InMemoryLog());
    private readonly MemoryLedger _ledger = new();

    private async Task<ActResult> ActAsync(FakeTool tool, string arguments)
    {
        var registry = new ToolRegistry([tool]);
        var args = TestJson.Parse(arguments);
        var digest = AgenticJson.Digest(args);
        var decision = new GateDecision("run-1", "s1", tool.Descriptor.Name, tool.Descriptor.Version, digest, GateEffect.Permit,
            "p", "1", "allow", "test", null, DateTimeOffset.UnixEpoch);
        await _decisions.RecordDecisionAsync(decision, TestContext.Current.CancellationToken);
        var act = new ActActivity(registry, new ToolExecutor(new NoSecrets(), TimeProvider.System), _decisions, _ledger, new NoControls(), new Agentic.Core.Governance.ControlWatch(new NoControls(), TimeProvider.System), _decisions.Audit, TimeProvider.System, AgentCatalog.Default);
        var input = new ActInput("run-1", "s1", "http://fleet/services/a", tool.Descriptor.Name, args, digest, decision, null);
        var output = await act.RunAsync(AgenticJson.ToElement(input), new ActivityContext("run-1", "c1", 1), TestContext.Current.CancellationToken);
        return AgenticJson.FromElement<ActResult>(output);
    }

    private static ToolDescriptor Sample(string name) => SampleServiceTools.Descriptors.Single(d => d.Name == name);

    [Fact]
    public async Task Act_RejectsAnOutputThatViolatesTheOutputSchema()
    {
        var tool = new FakeTool(Sample("sample.scale"), TestJson.Parse("""{"message":"scaled","replicas":"three"}"""));

        var ex = await Assert.ThrowsAsync<NonRetryableException>(() => ActAsync(tool, """{"replicas":3}"""));

        Assert.Equal("sample.scale@1.2.0 returned output that violates its output schema: $.replicas: expected integer, got string.", ex.Message);
        Assert.Equal(1, tool.Calls);
        // The side effect happened: its outcome stays recorded so a redelivery does not call the tool again.
        Assert.NotNull(_ledger.Entries[("run-1", "s1")]);
    }

    [Fact]
    public async Task Act_RejectsAReadOnlyOutputOfTheWrongType()
    {
        var tool = new FakeTool(Sample("sample.health"), TestJson.Parse("\"ok\""));

        var ex = await Assert.ThrowsAsync<NonRetryableException>(() => ActAsync(tool, "{}"));

        Assert.Equal("sample.health@1.2.0 returned output that violates its output schema: $: expected object, got string.", ex.Message);
    }

    [Fact]
    public async Task Act_AcceptsAReadOnlyOutputWithExtraMembers()
    {
        var tool = new FakeTool(Sample("sample.diagnostics"), TestJson.Parse("""{"service":"a","errorRate":0.1,"newField":{"x":1}}"""));

        var result = await ActAsync(tool, """{"probe":1}""");

        Assert.Equal("sample.diagnostics", result.Tool);
        Assert.False(result.Replayed);
    }

    [Fact]
    public async Task Act_AcceptsAnyOutput_WhenTheToolHasNoOutputSchema()
    {
        var tool = new FakeTool(Sample("sample.scale") with { OutputSchema = null }, TestJson.Parse("[1,2]"));

        var result = await ActAsync(tool, """{"replicas":3}""");

        Assert.Equal(200, result.StatusCode);
    }
}
