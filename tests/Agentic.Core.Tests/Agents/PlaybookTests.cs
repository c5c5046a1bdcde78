using System.Text.Json;
using Agentic.Core.Activities;
using Agentic.Core.Agents;
using Agentic.Core.Json;

namespace Agentic.Core.Tests.Agents;

/// <summary>The shipped playbooks, called the way hosts call them: through the plan activity over JSON.</summary>
public sealed class PlaybookTests
{
    private static readonly DateTimeOffset At = new(2025, 1, 1, 8, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task ServiceHealer_HealthyTarget_PlansNothing()
    {
        var plan = await PlanAsync("service-healer", healthy: true);

        Assert.Equal("playbook:service-healer@1", plan.Planner);
        Assert.Empty(plan.Steps);
        Assert.False(plan.ExpectHealthy);
        Assert.Equal("The target is ok; no action needed.", plan.Rationale);
    }

    [Fact]
    public async Task ServiceHealer_UnhealthyTarget_DiagnosesThenRestarts_AndExpectsHealthy()
    {
        var plan = await PlanAsync("service-healer", healthy: false);

        Assert.True(plan.ExpectHealthy);
        Assert.Equal("The target is degraded: diagnose, restart, verify.", plan.Rationale);
        Assert.Equal(["s1", "s2"], plan.Steps.Select(s => s.StepId));
        Assert.Equal(["sample.diagnostics", "sample.restart"], plan.Steps.Select(s => s.Tool));
        Assert.Equal("{}", plan.Steps[0].Arguments.GetRawText());
        Assert.Equal("""{"reason":"health probe reported degraded"}""", plan.Steps[1].Arguments.GetRawText());
    }

    [Theory]
    [InlineData(null, 3)]
    [InlineData("""{}""", 3)]
    [InlineData("""{"probes":5}""", 5)]
    [InlineData("""{"probes":0}""", 1)]
    [InlineData("""{"probes":500}""", 50)]
    [InlineData("""{"probes":2.5}""", 3)]
    [InlineData("""{"probes":"many"}""", 3)]
    [InlineData("""{"probes":"5"}""", 3)]
    [InlineData("""{"probes":null}""", 3)]
    [InlineData("""{"probes":true}""", 3)]
    public async Task Diagnostics_TakesParametersProbes_ClampedToOneToFifty(string? parameters, int probes)
    {
        var plan = await PlanAsync("diagnostics", healthy: true, parameters);

        Assert.Equal("playbook:diagnostics@1", plan.Planner);
        Assert.False(plan.ExpectHealthy);
        Assert.Equal(Enumerable.Range(1, probes).Select(i => $"s{i}"), plan.Steps.Select(s => s.StepId));
        Assert.All(plan.Steps, s => Assert.Equal("sample.diagnostics", s.Tool));
        Assert.Equal(Enumerable.Range(1, probes), plan.Steps.Select(s => s.Arguments.GetProperty("probe").GetInt32()));
    }

    [Theory]
    [InlineData(null, 3)]
    [InlineData("""{"replicas":7}""", 7)]
    [InlineData("""{"replicas":-1}""", 0)]
    [InlineData("""{"replicas":1000}""", 100)]
    [InlineData("""{"replicas":"many"}""", 3)]
    [InlineData("""{"replicas":"7"}""", 3)]
    public async Task Scaler_ScalesToParametersReplicas_ClampedToZeroToHundred(string? parameters, int replicas)
    {
        var plan = await PlanAsync("scaler", healthy: false, parameters);

        var step = Assert.Single(plan.Steps);
        Assert.Equal("sample.scale", step.Tool);
        Assert.Equal(replicas, step.Arguments.GetProperty("replicas").GetInt32());
        Assert.Equal($"Scale to {replicas}.", plan.Rationale);
        Assert.False(plan.ExpectHealthy);
    }

    [Theory]
    [InlineData("service-healer")]
    [InlineData("diagnostics")]
    [InlineData("scaler")]
    public async Task Playbook_IsDeterministic(string agent)
    {
        var first = await PlanActivity.RunAsync(Input(agent, healthy: false, """{"probes":4}"""), Context, TestContext.Current.CancellationToken);
        var second = await PlanActivity.RunAsync(Input(agent, healthy: false, """{"probes":4}"""), Context, TestContext.Current.CancellationToken);

        Assert.Equal(first.GetRawText(), second.GetRawText());
    }

    [Fact]
    public async Task UnknownAgent_FailsWithoutRetry()
    {
        var error = await Assert.ThrowsAsync<NonRetryableException>(() => PlanAsync("janitor", healthy: false));

        Assert.Equal("Unknown agent 'janitor'.", error.Message);
    }

    [Fact]
    public async Task InputThatIsNotAPlanInput_FailsWithoutRetry()
    {
        var error = await Assert.ThrowsAsync<NonRetryableException>(
            () => PlanActivity.RunAsync(TestJson.Parse("[1,2]"), Context, TestContext.Current.CancellationToken));

        Assert.StartsWith("Plan received input that is not a PlanInput: ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DefaultCatalog_OffersTheShippedAgents()
    {
        Assert.Equal(["contract-intake", "diagnostics", "scaler", "service-healer", "task"], AgentCatalog.Default.Names);
        Assert.Throws<KeyNotFoundException>(() => AgentCatalog.Default.Get("janitor"));
    }

    private static PlanActivity PlanActivity { get; } = new(AgentCatalog.Default, Agentic.Testing.TestAudit.InMemoryLog(), TimeProvider.System);

    private static ActivityContext Context { get; } = new("run-1", "plan", 1);

    private static async Task<Plan> PlanAsync(string agent, bool healthy, string? parameters = null)
    {
        var result = await PlanActivity.RunAsync(Input(agent, healthy, parameters), Context, TestContext.Current.CancellationToken);
        return AgenticJson.FromElement<Plan>(result);
    }

    private static JsonElement Input(string agent, bool healthy, string? parameters)
    {
        var status = healthy ? "ok" : "degraded";
        var observation = new Observation("http-probe:http://svc.test/health", At, AgenticJson.Digest(status), healthy, status, AgenticJson.ToElement(new { status }));
        var input = new PlanInput("run-1", agent, Goal: null, "http://svc.test", parameters is null ? null : TestJson.Parse(parameters), observation);
        return AgenticJson.ToElement(input);
    }
}
