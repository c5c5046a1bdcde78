using System.Text;
using System.Text.Json;
using Agentic.Core.Agents;
using Agentic.Core.Agents.Lifecycle;
using Agentic.Core.Runs;
using Agentic.Core.Tools;
using Agentic.Core.Tools.Builtin;
using BenchmarkDotNet.Attributes;

namespace Agentic.Bench.Micro;

/// <summary>
/// Admitting one run request (<c>POST /api/runs</c>, the queue, a monitor): parsed against a fixed catalog (the baseline,
/// a host without uploaded agents), against the offer of an agent store read at most every refresh interval (the
/// hosts as they ship: the snapshot is fresh, so admission only checks its age), and against a store read on every
/// admission (<c>Agentic:Agents:RefreshSeconds = 0</c>: the active set is read and compared each time; the uploads,
/// already loaded and checked, are not loaded again). The store holds one uploaded, activated agent.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(PolicyBenchmarks.PercentileConfig))]
public class AdmissionBenchmarks
{
    private byte[] _body = null!;
    private RunAdmission _fixed = null!;
    private RunAdmissions _cached = null!;
    private RunAdmissions _everyCall = null!;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        var options = new TargetOptions();
        var rule = new EndpointRule { Scheme = "http", Host = "127.0.0.1", Port = 7072, AllowPrivate = true };
        rule.Paths.Add("/services/**");
        options.Allow.Add(rule);
        var targets = new RunTargets(options);
        var checks = new AgentChecks(new ToolRegistry(SampleServiceTools.Create(targets, new EgressClient())));
        var store = new InMemoryAgentStore();
        await store.SaveAsync("janitor", "1", """
            name: janitor
            version: "1"
            description: Gathers diagnostics once.
            autonomy: autonomous
            tools: [sample.diagnostics]
            playbook:
              rules:
                - rationale: Collect diagnostics.
                  steps:
                    - tool: sample.diagnostics
                      rationale: One sample.
            """, "admin-1", CancellationToken.None);
        await store.ActivateAsync("janitor", "1", "admin-1", "Diagnostics on demand.", CancellationToken.None);

        _body = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { agent = "janitor", target = "http://127.0.0.1:7072/services/checkout", goal = "Look at checkout", idempotencyKey = "k-1" }));
        var cached = new StoredAgentCatalog(AgentCatalog.Default, store, checks, TimeProvider.System, TimeSpan.FromSeconds(2));
        var everyCall = new StoredAgentCatalog(AgentCatalog.Default, store, checks, TimeProvider.System, TimeSpan.Zero);
        _fixed = new RunAdmission(await cached.GetAsync(CancellationToken.None), "dev", targets);
        _cached = new RunAdmissions(cached, "dev", targets);
        _everyCall = new RunAdmissions(everyCall, "dev", targets);
        foreach (var request in new[] { Fixed(), await Cached(), await EveryCall() })
        {
            if (request.Agent != "janitor" || request.AgentVersion != "1")
            {
                throw new InvalidOperationException("The benchmark request is not admitted for janitor 1.");
            }
        }
    }

    [Benchmark(Baseline = true, Description = "fixed catalog")]
    public RunRequest Fixed() => RunRequestParser.Parse(_body, "alice", _fixed);

    [Benchmark(Description = "agent store, snapshot fresh (refresh 2 s)")]
    public async Task<RunRequest> Cached()
    {
        var admission = await _cached.CurrentAsync(CancellationToken.None);
        return RunRequestParser.Parse(_body, "alice", admission);
    }

    [Benchmark(Description = "agent store read on every admission (refresh 0)")]
    public async Task<RunRequest> EveryCall()
    {
        var admission = await _everyCall.CurrentAsync(CancellationToken.None);
        return RunRequestParser.Parse(_body, "alice", admission);
    }
}
