using System.Diagnostics;
using Agentic.Core.Agents;
using Agentic.Core.Telemetry;
using Agentic.Core.Workflow;
using Agentic.Durable.Tests.Support;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Agentic.Durable.Tests;

/// <summary>
/// The orchestrator's telemetry under replay: the in-process host replays the whole history on every event, yet the
/// run's invoke_agent span, its approval waits and its metrics are recorded once, with the times the run's log holds.
/// </summary>
public sealed class TelemetryTests : IDisposable
{
    private readonly DurableHost _host;
    private readonly List<Activity> _spans = [];
    private readonly List<Metric> _metrics = [];
    private readonly TracerProvider _tracing;
    private readonly MeterProvider _meters;

    // A name no other test's runs use: the instruments are process-wide, and so are this test's listeners.
    private readonly string _agent = "telemetry-" + Guid.NewGuid().ToString("N")[..8];

    public TelemetryTests(DurableHost host)
    {
        _host = host;
        _tracing = Sdk.CreateTracerProviderBuilder().AddSource(AgenticTelemetry.Name).AddInMemoryExporter(_spans).Build();
        _meters = Sdk.CreateMeterProviderBuilder().AddMeter(AgenticTelemetry.Name).AddInMemoryExporter(_metrics).Build();
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static RunScript Remediation(ApprovalTerms terms) => new()
    {
        Plan = _ => Answers.Plan(expectHealthy: true, Answers.Step("s1", "sample.diagnostics", new { }), Answers.Step("s2", "sample.restart", new { reason = "degraded" })),
        Gate = g => g.Tool == "sample.restart" ? Answers.RequireApproval(g, terms) : Answers.Permit(g),
        Act = (input, _) => Answers.Done(input),
    };

    [Fact]
    public async Task ApprovedRun_ReplayedOnEveryEvent_RecordsItsRootSpanApprovalWaitAndMetricsOnce()
    {
        var runId = await _host.StartAsync(Answers.Request() with { Agent = _agent }, Remediation(new(Answers.Operator)));
        await _host.AwaitingApprovalAsync(runId, "s2");
        Assert.Equal(1, PendingApprovals());

        Assert.Equal(ApprovalRefusal.None, (await _host.Runs().DecideAsync(runId, "s2", approve: true, "go ahead", "bob", [Answers.Operator], Ct)).Refusal);
        var run = await _host.EndedAsync(runId);
        RunChecks.ReplayedIdentically(_host, runId);

        var spans = Spans(runId);
        var root = Assert.Single(spans, s => s.DisplayName == $"invoke_agent {_agent}");
        Assert.Equal(RunTrace.ContextOf(runId).SpanId, root.SpanId);
        Assert.Equal(run.View.CreatedAt.UtcDateTime, root.StartTimeUtc);
        var wait = Assert.Single(spans, s => s.DisplayName == "await_approval");
        Assert.Equal(root.SpanId, wait.ParentSpanId);
        Assert.Equal("approved", wait.GetTagItem("agentic.approval.outcome"));
        Assert.Equal(run.View.Log.Single(l => l.Kind == "awaiting-approval").At.UtcDateTime, wait.StartTimeUtc);
        Assert.Equal(run.View.Log.Single(l => l.Kind == "approved").At.UtcDateTime, wait.StartTimeUtc + wait.Duration);
        // The activity attempts run through the product's runner: each a child of the root.
        Assert.Equal(7, spans.Count(s => s.DisplayName is "perceive" or "plan" or "gate" or "act" && s.ParentSpanId == root.SpanId));

        Assert.Equal(0, PendingApprovals());
        Assert.Equal(1, Histogram("agentic.approval.duration", "approved"));
        Assert.Equal(1, Sum("agentic.runs", ("agentic.run.status", "completed")));
    }

    [Fact]
    public async Task ApprovalTimedOut_EndsTheWaitAsTimedOut_AndTheRunAsFailed()
    {
        var runId = await _host.StartAsync(Answers.Request() with { Agent = _agent }, Remediation(new(Answers.Operator, Timeout: TimeSpan.FromSeconds(1))));
        var run = await _host.EndedAsync(runId);
        RunChecks.Ended(run, "failed");

        var spans = Spans(runId);
        Assert.Equal("timed_out", Assert.Single(spans, s => s.DisplayName == "await_approval").GetTagItem("agentic.approval.outcome"));
        Assert.Equal("failed", Assert.Single(spans, s => s.DisplayName == $"invoke_agent {_agent}").GetTagItem("agentic.run.status"));
        Assert.Equal(0, PendingApprovals());
        Assert.Equal(1, Histogram("agentic.approval.duration", "timed_out"));
        Assert.Equal(1, Sum("agentic.runs", ("agentic.run.status", "failed")));
    }

    [Fact]
    public async Task GuardTrip_IsCountedByItsGuard()
    {
        var script = new RunScript { Plan = _ => Answers.Plan(expectHealthy: true, Answers.Probes(2)) };
        var runId = await _host.StartAsync(Answers.Request() with { Agent = _agent, Guards = new RunGuards { MaxSteps = 1 } }, script);
        RunChecks.Ended(await _host.EndedAsync(runId), "failed");

        Assert.Equal(1, Sum("agentic.guard.trips", ("agentic.guard", "steps")));
        Assert.Equal(1, Sum("agentic.runs", ("agentic.run.status", "failed")));
    }

    public void Dispose()
    {
        _tracing.Dispose();
        _meters.Dispose();
    }

    private List<Activity> Spans(string runId)
    {
        _tracing.ForceFlush();
        var trace = RunTrace.ContextOf(runId).TraceId;
        lock (_spans)
        {
            return [.. _spans.Where(s => s.TraceId == trace)];
        }
    }

    private long PendingApprovals() => Sum("agentic.approvals.pending");

    private long Sum(string name, params (string Key, string Value)[] tags) => Points(name, tags).Sum(p => p.GetSumLong());

    private long Histogram(string name, string outcome) => Points(name, [("agentic.approval.outcome", outcome)]).Sum(p => p.GetHistogramCount());

    // The last collection holds the cumulative totals of this test's agent.
    private List<MetricPoint> Points(string name, (string Key, string Value)[] tags)
    {
        List<Metric> metrics;
        lock (_metrics)
        {
            _metrics.Clear();
        }
        _meters.ForceFlush();
        lock (_metrics)
        {
            metrics = [.. _metrics.Where(m => m.Name == name)];
        }
        var points = new List<MetricPoint>();
        foreach (var metric in metrics)
        {
            foreach (ref readonly var point in metric.GetMetricPoints())
            {
                var found = new Dictionary<string, string?>();
                foreach (var tag in point.Tags)
                {
                    found[tag.Key] = tag.Value?.ToString();
                }
                if (found.GetValueOrDefault("gen_ai.agent.name") == _agent && tags.All(t => found.GetValueOrDefault(t.Key) == t.Value))
                {
                    points.Add(point);
                }
            }
        }
        return points;
    }
}
