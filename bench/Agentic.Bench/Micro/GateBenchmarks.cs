using System.Text.Json;
using Agentic.Core.Agents;
using Agentic.Core.Json;
using Agentic.Core.Policy;
using Agentic.Core.Policy.Language;
using Agentic.Core.Tools;
using BenchmarkDotNet.Attributes;

namespace Agentic.Bench.Micro;

/// <summary>
/// One gate decision for a <c>sample.scale</c> step under the shipped baseline, in three depths, measured in one run:
/// the compiled policy on a request built beforehand (the baseline), building the request from the gate input and then
/// evaluating it, and the whole policy part of the gate (<see cref="PolicyGate.Decide"/>: request, autonomy, a shadow
/// policy, the recorded snapshot and the decision record).
/// </summary>
[MemoryDiagnoser]
[Config(typeof(PolicyBenchmarks.PercentileConfig))]
public class GateBenchmarks
{
    private static readonly DateTimeOffset Now = new(2026, 11, 24, 10, 0, 0, TimeSpan.Zero);
    private ToolDescriptor _tool = null!;
    private string _toolHash = null!;
    private GateInput _input = null!;
    private ActivePolicies _policies = null!;
    private PolicyRequest _request;

    [GlobalSetup]
    public void Setup()
    {
        _tool = SampleServiceTools.Descriptors.Single(d => d.Name == "sample.scale");
        _toolHash = _tool.Hash; // the registry computes it once, at start
        var args = JsonDocument.Parse("""{"replicas":5}""").RootElement.Clone();
        _input = new GateInput("run-1", "s1", "alice", "scaler", "prod", _tool.Name, args, AgenticJson.Digest(args), 0)
        {
            Autonomy = Autonomy.Supervised,
            PrincipalRoles = ["operator"],
            Target = "http://fleet/services/checkout",
        };
        var shadow = PolicyLoader.Load("""
            id: candidate
            version: "1"
            mode: shadow
            rules:
              - id: reads-only
                effect: permit
                when: tool.sideEffect == 'read-only'
            """, "candidate.yaml");
        _policies = new ActivePolicies(ShippedPolicies.Baseline, shadow);
        _request = Build();
        if (Evaluate().Rule != "permit-small-scale" || Decide().Rule != "permit-small-scale")
        {
            throw new InvalidOperationException("The benchmark request is not decided by permit-small-scale.");
        }
    }

    [Benchmark(Baseline = true, Description = "evaluate a prebuilt request")]
    public PolicyDecision Evaluate() => ShippedPolicies.Baseline.Evaluate(in _request);

    [Benchmark(Description = "build the request + evaluate")]
    public PolicyDecision BuildAndEvaluate()
    {
        var request = Build();
        return ShippedPolicies.Baseline.Evaluate(in request);
    }

    [Benchmark(Description = "PolicyGate.Decide (+ shadow, snapshot, record)")]
    public GateDecision Decide() => PolicyGate.Decide(_policies, _input, _tool, Now, _toolHash);

    private PolicyRequest Build() =>
        PolicyRequest.FromGate(_input, _tool, Now, Autonomy.Supervised, _input.PrincipalRoles, _input.Target, 0, _tool.Tags);
}
