using System.Net;
using System.Text.Json;
using Agentic.Core.Activities;
using Agentic.Core.Agents;
using Agentic.Core.Json;
using Agentic.Core.Runs;
using Agentic.Core.Tests.Runs;
using Agentic.Core.Tests.Tools;
using Agentic.Core.Tools;
using Agentic.Core.Tools.Builtin;
using Agentic.Testing;

namespace Agentic.Core.Tests.Activities;

/// <summary>
/// Perception and the sample tools reach a run's target only through the target rules and the egress client: names
/// resolve from a table, every connection goes through a connector that refuses (and records) anything off loopback,
/// and each refusal says why while the server behind it sees nothing.
/// </summary>
public sealed class TargetEgressTests : IDisposable
{
    private readonly LoopbackOnlyNetwork _network = new();
    private readonly EgressClient _client;

    public TargetEgressTests() => _client = new EgressClient(_network.ResolveAsync, _network.ConnectAsync);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        _client.Dispose();
        Assert.Empty(_network.Violations);
    }

    private static RunTargets Targets(params EndpointRule[] rules) => Admissions.For("dev", rules: rules).Targets;

    private static EndpointRule Fleet(LoopbackServer server, bool allowPrivate = true) => Admissions.Rule("http", "127.0.0.1", server.Port, "/services/**", allowPrivate);

    private async Task<Observation> PerceiveAsync(RunTargets targets, string target) =>
        AgenticJson.FromElement<Observation>(await new PerceiveActivity(targets, _client, Agentic.Testing.TestAudit.InMemoryLog(), TimeProvider.System, AgentCatalog.Default)
            .RunAsync(AgenticJson.ToElement(new PerceiveInput("run-1", "diagnostics", target, "observe")), new ActivityContext("run-1", "perceive", 1), Ct));

    private Task<ToolOutcome> DiagnosticsAsync(RunTargets targets, string target) =>
        SampleServiceTools.Create(targets, _client).Single(t => t.Descriptor.Name == "sample.diagnostics")
            .InvokeAsync(new ToolCall("run-1", "s1", target, JsonSerializer.SerializeToElement(new { }), "run-1/s1") { Agent = "diagnostics" }, Ct);

    [Fact]
    public async Task ContractRecord_AssessesWithAReadOfItsAssessRoute_AndWritesTheRecordWithTheStepsIdempotencyKey()
    {
        await using var server = LoopbackServer.Json("""{"contract":"c-1","version":1,"status":"recorded","riskScore":0,"riskBand":"low"}""");
        var targets = Targets(Admissions.Rule("http", "127.0.0.1", server.Port, "/contracts/*", allowPrivate: true));
        var tool = (IAssessingTool)SampleServiceTools.Create(targets, _client).Single(t => t.Descriptor.Name == "contract.record");
        var fields = JsonSerializer.SerializeToElement(new { title = "Support agreement" });
        var call = new ToolCall("run-1", "record", server.Url + "/contracts/c-1", fields, "run-1/record") { Agent = "contract-intake" };

        var assessment = await tool.AssessAsync(call, Ct);
        var outcome = await tool.InvokeAsync(call, Ct);

        Assert.Equal("low", assessment.GetProperty("riskBand").GetString());
        Assert.Equal(200, outcome.StatusCode);
        var requests = server.Requests.ToList();
        Assert.Equal([("POST", "/contracts/c-1/assess"), ("PUT", "/contracts/c-1/record")], requests.Select(r => (r.Method, r.Path)));
        Assert.All(requests, r => Assert.Equal(fields.GetRawText(), r.Body));
        Assert.False(requests[0].Headers.ContainsKey("Idempotency-Key"));
        Assert.Equal("run-1/record", requests[1].Headers["Idempotency-Key"]);
        // A target the rules do not allow is refused before anything is sent, assessment included.
        var refused = await Assert.ThrowsAsync<ToolException>(() => tool.AssessAsync(call with { Target = server.Url + "/services/a" }, Ct));
        Assert.StartsWith("contract.record refused the target: ", refused.Message, StringComparison.Ordinal);
        Assert.Equal(2, server.Requests.Count);
    }

    [Fact]
    public async Task Perception_OfAnAllowedTarget_ProbesItsHealthRoute()
    {
        await using var server = LoopbackServer.Json("""{"status":"healthy"}""");

        var observation = await PerceiveAsync(Targets(Fleet(server)), server.Url + "/services/a");

        Assert.True(observation.Healthy);
        Assert.Equal($"http-probe:{server.Url}/services/a/health", observation.Source);
        Assert.Equal("/services/a/health", Assert.Single(server.Requests).Path);
    }

    [Fact]
    public async Task Perception_ProbesTheRouteOfTheAgentsSignalSource()
    {
        await using var server = LoopbackServer.Json("""{"status":"degraded"}""");
        var agents = new AgentCatalog([AgentLoader.Load("""
            name: status-watcher
            version: "1"
            description: Reads a status route.
            signals: [{ kind: http-probe, path: api/status, timeout: 2s }]
            tools: [sample.diagnostics]
            playbook: { rules: [{ rationale: Nothing. }] }
            """, "agents/status-watcher.yaml")]);
        var targets = Admissions.For("dev", agents, Fleet(server)).Targets;

        var observation = AgenticJson.FromElement<Observation>(await new PerceiveActivity(targets, _client, Agentic.Testing.TestAudit.InMemoryLog(), TimeProvider.System, agents)
            .RunAsync(AgenticJson.ToElement(new PerceiveInput("run-1", "status-watcher", server.Url + "/services/a", "observe")), new ActivityContext("run-1", "perceive", 1), Ct));

        Assert.Equal(("degraded", false), (observation.Status, observation.Healthy));
        Assert.Equal($"http-probe:{server.Url}/services/a/api/status", observation.Source);
        Assert.Equal("/services/a/api/status", Assert.Single(server.Requests).Path);
    }

    [Fact]
    public async Task Perception_OfLoopbackOnAnotherPort_IsRefusedBeforeAnyLookupOrConnection()
    {
        await using var allowed = LoopbackServer.Json("{}");
        await using var other = LoopbackServer.Json("{}");

        var ex = await Assert.ThrowsAsync<NonRetryableException>(() => PerceiveAsync(Targets(Fleet(allowed)), other.Url + "/services/a"));

        Assert.Equal($"The target is not an allowed run target: no rule of Agentic:Targets:Allow allows {other.Url}.", ex.Message);
        Assert.Empty(other.Requests);
        Assert.Empty(_network.Connections);
    }

    [Theory]
    [InlineData("127.0.0.1", "a loopback address")]
    [InlineData("10.0.0.5", "a private address")]
    [InlineData("::ffff:127.0.0.1", "a loopback address")]
    [InlineData("64:ff9b::a00:5", "a private address")]
    [InlineData("169.254.169.254", "a cloud metadata address, which is never allowed")]
    public async Task Perception_OfANameResolvingToANonPublicAddress_IsRefused_AndNothingIsFetched(string address, string kind)
    {
        await using var server = LoopbackServer.Json("{}");
        _network.Map("fleet.internal", address);
        var targets = Targets(Admissions.Rule("http", "fleet.internal", server.Port, "/services/**", allowPrivate: false));

        var ex = await Assert.ThrowsAsync<NonRetryableException>(() => PerceiveAsync(targets, $"http://fleet.internal:{server.Port}/services/a"));

        Assert.StartsWith("The health probe was refused: ", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"'fleet.internal' resolves to {address}, {kind}", ex.Message, StringComparison.Ordinal);
        Assert.Equal(["fleet.internal"], _network.Lookups);
        Assert.Empty(_network.Connections);
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task Perception_RedirectedToAPrivateAddress_DoesNotFollow()
    {
        await using var server = LoopbackServer.Start(c => Task.Run(() => LoopbackServer.Redirect(c, 302, "http://10.0.0.5/latest?token=abc")));

        var observation = await PerceiveAsync(Targets(Fleet(server)), server.Url + "/services/a");

        Assert.Equal(("http-302", false), (observation.Status, observation.Healthy));
        Assert.DoesNotContain("10.0.0.5", observation.Details.GetRawText(), StringComparison.Ordinal);
        Assert.All(_network.Connections, c => Assert.Equal(server.Port, c.Port));
    }

    [Fact]
    public async Task Perception_OfAnErrorAnswer_RecordsItsStatusSizeAndDigest_NeverItsBody()
    {
        const string Listing = "<EnumerationResults><Containers><Name>payroll</Name></Containers></EnumerationResults>";
        await using var server = LoopbackServer.Start(c => LoopbackServer.WriteAsync(c, 403, "application/xml", Listing));

        var observation = await PerceiveAsync(Targets(Fleet(server)), server.Url + "/services/a");

        Assert.Equal(("http-403", false), (observation.Status, observation.Healthy));
        Assert.DoesNotContain("payroll", observation.Details.GetRawText(), StringComparison.Ordinal);
        Assert.Equal(403, observation.Details.GetProperty("httpStatus").GetInt32());
        Assert.Equal(AgenticJson.Digest(System.Text.Encoding.UTF8.GetBytes(Listing)), observation.Details.GetProperty("digest").GetString());
    }

    [Fact]
    public async Task SampleTool_ErrorAnswer_NeverEchoesTheBody()
    {
        await using var server = LoopbackServer.Start(c => LoopbackServer.WriteAsync(c, 500, "text/plain", "AccountKey=Eby8vdM02xNOcqFl; internal listing follows"));

        var ex = await Assert.ThrowsAsync<ToolException>(() => DiagnosticsAsync(Targets(Fleet(server)), server.Url + "/services/a"));

        Assert.True(ex.Retryable);
        Assert.DoesNotContain("AccountKey", ex.Message, StringComparison.Ordinal);
        Assert.Matches(@"^sample\.diagnostics answered 500 Internal Server Error \(body sha256:[0-9a-f]{12}, \d+ bytes\)$", ex.Message);
    }

    [Fact]
    public async Task SampleTool_OnANameResolvingToAPrivateAddress_IsRefused_AndNothingIsSent()
    {
        await using var server = LoopbackServer.Json("{}");
        _network.Map("fleet.internal", "10.0.0.5");

        var ex = await Assert.ThrowsAsync<ToolException>(() => DiagnosticsAsync(
            Targets(Admissions.Rule("http", "fleet.internal", server.Port, "/services/**")), $"http://fleet.internal:{server.Port}/services/a"));

        Assert.False(ex.Retryable);
        Assert.Equal("sample.diagnostics: 'fleet.internal' resolves to 10.0.0.5, a private address, and no rule allows private addresses for it", ex.Message);
        Assert.Empty(_network.Connections);
    }

    [Fact]
    public async Task SampleTool_TargetTheRulesDoNotAllow_IsRefusedBeforeAnyConnection()
    {
        await using var allowed = LoopbackServer.Json("{}");
        await using var other = LoopbackServer.Json("{}");

        var ex = await Assert.ThrowsAsync<ToolException>(() => DiagnosticsAsync(Targets(Fleet(allowed)), other.Url + "/services/a"));

        Assert.Equal($"sample.diagnostics refused the target: no rule of Agentic:Targets:Allow allows {other.Url}.", ex.Message);
        Assert.Empty(other.Requests);
        Assert.Empty(_network.Connections);
    }

    [Fact]
    public async Task TheTestNetwork_RefusesAndRecordsAConnectionOffLoopback()
    {
        // The guard the tests above rely on: were the egress client wrong, this is what would catch it.
        var network = new LoopbackOnlyNetwork();
        using var client = new EgressClient(network.ResolveAsync, network.ConnectAsync);
        using var request = new HttpRequestMessage(HttpMethod.Get, "http://10.0.0.5:9/");

        await Assert.ThrowsAsync<ToolException>(() => client.SendAsync(request, allowPrivate: true, Ct));

        Assert.Equal(new IPEndPoint(IPAddress.Parse("10.0.0.5"), 9), Assert.Single(network.Violations));
        Assert.Empty(network.Connections);
    }
}
