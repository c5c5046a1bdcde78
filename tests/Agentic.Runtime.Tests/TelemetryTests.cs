using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Agentic.Core.Agents;
using Agentic.Core.Governance;
using Agentic.Core.Json;
using Agentic.Core.Runs;
using Agentic.Core.Telemetry;
using Agentic.Runtime.Tests.Infrastructure;
using Agentic.Testing;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Agentic.Runtime.Tests;

/// <summary>
/// The telemetry of real runs on the engine and a real Azurite, exported to memory: one trace per run whose root is the
/// run's invoke_agent span, every activity attempt, tool call and approval wait a descendant of it, the GenAI attributes,
/// the metrics, and no form of a canary secret in any span, attribute, event, metric tag or log line.
/// </summary>
public sealed class TelemetryTests(AzuriteFixture azurite, FleetFixture fleet) : RuntimeTest(azurite, fleet), IClassFixture<FleetFixture>
{
    private const string Canary = CanaryEcho.Canary;

    private readonly List<Activity> _spans = [];
    private readonly List<Metric> _metrics = [];

    [Fact]
    public async Task ApprovedHealerRun_IsOneTrace_RootedAtInvokeAgent_WithEveryStepAndToolCallBelowIt_AndItsMetrics()
    {
        var runtime = await StartRuntimeAsync(services: WithTelemetry);
        var runId = await SubmitHealerAwaitingApprovalAsync(runtime);
        await DecideAsync(runtime, runId);
        AssertCompleted(await runtime.WaitTerminalAsync(runId), "remediated");

        var trace = RunTrace.ContextOf(runId);
        var spans = await SpansOfRunAsync(runId, "invoke_agent service-healer");

        // The root: the run's invoke_agent span, under the id every other span of the run names as its ancestor.
        var root = Assert.Single(spans, s => s.DisplayName == "invoke_agent service-healer");
        Assert.Equal(trace.SpanId, root.SpanId);
        Assert.Equal(default, root.ParentSpanId);
        Assert.Equal("invoke_agent", Tag(root, "gen_ai.operation.name"));
        Assert.Equal("service-healer", Tag(root, "gen_ai.agent.name"));
        Assert.Equal(runId, Tag(root, "agentic.run.id"));
        Assert.Equal("remediated", Tag(root, "agentic.run.outcome"));
        Assert.True(spans.All(s => s == root || s.StartTimeUtc >= root.StartTimeUtc.AddMilliseconds(-1)), "A span of the run started before the run did.");

        // Every activity attempt is a child of the root, named for its activity, with the run and step ids.
        var activities = spans.Where(s => s.DisplayName is "perceive" or "plan" or "gate" or "act").ToList();
        Assert.All(activities, s => Assert.Equal(root.SpanId, s.ParentSpanId));
        Assert.All(activities, s => Assert.Equal(runId, Tag(s, "agentic.run.id")));
        Assert.Equal(["act", "act", "gate", "gate", "perceive", "perceive", "plan"], activities.Select(s => s.DisplayName).Order(StringComparer.Ordinal));
        var gates = activities.Where(s => s.DisplayName == "gate").ToDictionary(s => Tag(s, "agentic.step.id")!);
        Assert.Equal("permit", Tag(gates["s1"], "agentic.decision.effect"));
        Assert.Equal("require_approval", Tag(gates["s2"], "agentic.decision.effect"));
        Assert.Equal("approve-high-risk", Tag(gates["s2"], "agentic.decision.rule"));

        // Each tool call is an execute_tool span under its step's act span, with the GenAI tool attributes.
        var acts = activities.Where(s => s.DisplayName == "act").ToDictionary(s => Tag(s, "agentic.step.id")!);
        var restart = Assert.Single(spans, s => s.DisplayName == "execute_tool sample.restart");
        Assert.Equal(acts["s2"].SpanId, restart.ParentSpanId);
        Assert.Equal("execute_tool", Tag(restart, "gen_ai.operation.name"));
        Assert.Equal("sample.restart", Tag(restart, "gen_ai.tool.name"));
        Assert.Equal($"{runId}/s2", Tag(restart, "gen_ai.tool.call.id"));
        Assert.Equal("ok", Tag(restart, "agentic.tool.outcome"));
        Assert.Equal(acts["s1"].SpanId, Assert.Single(spans, s => s.DisplayName == "execute_tool sample.diagnostics").ParentSpanId);

        // The wait for the operator: from the gate's request to the approval, a child of the root.
        var wait = Assert.Single(spans, s => s.DisplayName == "await_approval");
        Assert.Equal(root.SpanId, wait.ParentSpanId);
        Assert.Equal("s2", Tag(wait, "agentic.step.id"));
        Assert.Equal("approved", Tag(wait, "agentic.approval.outcome"));
        Assert.True(wait.Duration > TimeSpan.Zero);

        // Every span of the run descends from the root, and nothing else is in the trace.
        var ids = spans.Select(s => s.SpanId).ToHashSet();
        Assert.All(spans.Where(s => s != root), s => Assert.Contains(s.ParentSpanId, ids));

        // The metrics: the decisions by effect and rule, the tool calls, the approval's latency and the run.
        var metrics = Collect(runtime);
        Assert.True(Sum(metrics, "agentic.gate.decisions", ("agentic.decision.effect", "require_approval"), ("agentic.decision.rule", "approve-high-risk"), ("gen_ai.agent.name", "service-healer")) >= 1);
        Assert.True(Sum(metrics, "agentic.gate.decisions", ("agentic.decision.effect", "permit"), ("gen_ai.tool.name", "sample.diagnostics")) >= 1);
        Assert.True(Sum(metrics, "agentic.tool.calls", ("gen_ai.tool.name", "sample.restart"), ("agentic.tool.outcome", "ok")) >= 1);
        Assert.True(Count(metrics, "agentic.tool.call.duration", ("gen_ai.tool.name", "sample.restart")) >= 1);
        Assert.True(Count(metrics, "agentic.approval.duration", ("gen_ai.agent.name", "service-healer"), ("agentic.approval.outcome", "approved")) >= 1);
        Assert.True(Sum(metrics, "agentic.runs", ("gen_ai.agent.name", "service-healer"), ("agentic.run.status", "completed"), ("agentic.run.outcome", "remediated")) >= 1);
        Assert.Contains(metrics, m => m.Name == "agentic.approvals.pending");
        // The audit trail's instruments are on the same meter.
        Assert.True(Count(metrics, "agentic.audit.append.duration") >= 1);
    }

    [Fact]
    public async Task KillSwitchedRun_CountsTheDenial_AndMarksTheGateSpanWithTheRule()
    {
        var runtime = await StartRuntimeAsync(services: WithTelemetry);
        await runtime.Services.GetRequiredService<IControlStore>().EngageAsync(ControlScope.Agent, "diagnostics", ControlKind.KillSwitch, "telemetry test", "ops", Ct);
        var runId = await SubmitAsync(runtime, Requests.Diagnostics(Fleet.HealthyTarget(), 1));
        AssertFailed(await runtime.WaitTerminalAsync(runId));

        var spans = await SpansOfRunAsync(runId, "invoke_agent diagnostics");
        var gate = Assert.Single(spans, s => s.DisplayName == "gate");
        Assert.Equal("forbid", Tag(gate, "agentic.decision.effect"));
        Assert.Equal("kill-switch:agent:diagnostics", Tag(gate, "agentic.decision.rule"));
        Assert.Equal("failed", Tag(Assert.Single(spans, s => s.DisplayName == "invoke_agent diagnostics"), "agentic.run.status"));
        Assert.True(Sum(Collect(runtime), "agentic.kill_switch.denials", ("agentic.control.rule", "kill-switch:agent:diagnostics"), ("agentic.control.where", "gate")) >= 1);
    }

    [Fact]
    public async Task CanarySecret_EchoedByTheService_IsInNoSpanAttributeEventMetricTagOrLogLine()
    {
        await using var server = LoopbackServer.Start(c => LoopbackServer.WriteAsync(c, 200, "text/plain",
            string.Join('\n', Forms(c.Request.Headers["X-Canary"] ?? "").Values)));
        var echo = CanaryEcho.Agent;
        var settings = CanaryEcho.Settings(server.Url);
        var runtime = await StartRuntimeAsync(settings, services =>
        {
            services.AddSingleton(echo);
            WithTelemetry(services);
        });
        var request = RunRequestParser.Parse(JsonSerializer.SerializeToUtf8Bytes(new { agent = "echo", target = Fleet.HealthyTarget(), parameters = new { url = server.Url + "/api/echo?token=" + Uri.EscapeDataString(Canary) } }, AgenticJson.Options), Requests.Requester, Requests.Admission(new Uri(Fleet.HealthyTarget()), echo));

        var runId = await SubmitAsync(runtime, request);
        var run = await runtime.WaitTerminalAsync(runId);

        Assert.Equal(Canary, server.Requests.Single().Headers["X-Canary"]);
        var spans = await SpansOfRunAsync(runId, "invoke_agent echo");
        // Not vacuous: the call the secret went into is there, and so are its metrics.
        var call = Assert.Single(spans, s => s.DisplayName == "execute_tool http.request");
        Assert.Equal($"{runId}/s1", Tag(call, "gen_ai.tool.call.id"));
        var metrics = Collect(runtime);
        Assert.True(Sum(metrics, "agentic.tool.calls", ("gen_ai.tool.name", "http.request"), ("gen_ai.agent.name", "echo")) >= 1);

        var places = new Dictionary<string, string>
        {
            ["spans"] = string.Join('\n', spans.Select(Describe)),
            ["metric tags"] = string.Join('\n', metrics.SelectMany(Points).Select(p => string.Join(',', Tags(p).Select(t => $"{t.Key}={t.Value}")))),
            ["log"] = runtime.LogTail(2000),
        };
        Assert.Contains("http.request", places["spans"], StringComparison.Ordinal);
        foreach (var (place, text) in places)
        {
            foreach (var (form, value) in Forms(Canary))
            {
                Assert.False(text.Contains(value, StringComparison.OrdinalIgnoreCase), $"The {form} form of the canary is in the {place}:\n{text}");
            }
            Assert.DoesNotContain("Secret&Value", text, StringComparison.OrdinalIgnoreCase);
        }
        Assert.True(run.Status is "completed" or "failed", LocalRuntime.Describe(run));
    }

    // The runtime wires telemetry as the hosts do (AddAgenticTelemetry); this test adds its in-memory exporters.
    private void WithTelemetry(IServiceCollection services)
    {
        services.ConfigureOpenTelemetryTracerProvider(t => t.AddInMemoryExporter(_spans));
        services.ConfigureOpenTelemetryMeterProvider(m => m.AddInMemoryExporter(_metrics));
    }

    // The spans of the run's trace (other tests' runtimes in this process export to this listener too), once its root
    // has been recorded.
    private async Task<List<Activity>> SpansOfRunAsync(string runId, string rootName)
    {
        var trace = RunTrace.ContextOf(runId).TraceId;
        List<Activity> Of()
        {
            lock (_spans)
            {
                return [.. _spans.Where(s => s.TraceId == trace)];
            }
        }
        await WaitUntilAsync(() => Task.FromResult(Of().Any(s => s.DisplayName == rootName)), $"the {rootName} span of {runId} recorded",
            describe: () => Task.FromResult(string.Join('\n', Of().Select(Describe))));
        return Of();
    }

    private List<Metric> Collect(LocalRuntime runtime)
    {
        Assert.True(runtime.Services.GetRequiredService<MeterProvider>().ForceFlush(10_000));
        lock (_metrics)
        {
            return [.. _metrics];
        }
    }

    private static string? Tag(Activity span, string name) => span.GetTagItem(name)?.ToString();

    private static string Describe(Activity s) =>
        $"{s.DisplayName} {s.SpanId}<-{s.ParentSpanId} status={s.Status}:{s.StatusDescription} "
        + string.Join(' ', s.TagObjects.Select(t => $"{t.Key}={t.Value}"))
        + string.Join(' ', s.Events.Select(e => $" event {e.Name} " + string.Join(' ', e.Tags.Select(t => $"{t.Key}={t.Value}"))));

    private static IEnumerable<MetricPoint> Points(Metric metric)
    {
        foreach (ref readonly var point in metric.GetMetricPoints())
        {
            yield return point;
        }
    }

    private static List<KeyValuePair<string, object?>> Tags(MetricPoint point)
    {
        var tags = new List<KeyValuePair<string, object?>>();
        foreach (var tag in point.Tags)
        {
            tags.Add(tag);
        }
        return tags;
    }

    private static bool Matches(MetricPoint point, (string Key, string Value)[] wanted) =>
        wanted.All(w => Tags(point).Any(t => t.Key == w.Key && t.Value?.ToString() == w.Value));

    // Exported snapshots are cumulative; the last export of an instrument holds the totals.
    private static IEnumerable<MetricPoint> LastPoints(List<Metric> metrics, string name) =>
        metrics.LastOrDefault(m => m.Name == name) is { } metric ? Points(metric) : [];

    private static long Sum(List<Metric> metrics, string name, params (string Key, string Value)[] tags) =>
        LastPoints(metrics, name).Where(p => Matches(p, tags)).Sum(p => p.GetSumLong());

    private static long Count(List<Metric> metrics, string name, params (string Key, string Value)[] tags) =>
        LastPoints(metrics, name).Where(p => Matches(p, tags)).Sum(p => p.GetHistogramCount());

    private static Dictionary<string, string> Forms(string secret) => CanaryEcho.Forms(secret);
}
