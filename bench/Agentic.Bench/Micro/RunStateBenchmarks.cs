using System.Text.Json;
using Agentic.Bench.Simulation;
using Agentic.Core.Json;
using Agentic.Core.Workflow;
using BenchmarkDotNet.Attributes;

namespace Agentic.Bench.Micro;

/// <summary>
/// The runner's snapshot round trip: the state of a completed 5-step diagnostics run (its largest state)
/// serialized to UTF-8 JSON, as DurableRunner stores it in the run row, and read back.
/// </summary>
[MemoryDiagnoser]
public class RunStateBenchmarks
{
    private AgentRunState _state = null!;
    private byte[] _json = null!;

    [GlobalSetup]
    public void Setup()
    {
        _state = DiagnosticsRun.Simulate("run-0123456789abcdef0123456789abcdef", "http://127.0.0.1:7072/services/checkout", 5).Hops[^1].After;
        _json = JsonSerializer.SerializeToUtf8Bytes(_state, AgenticJson.Options);
        Console.WriteLine($"// AgentRunState of a completed 5-step run: {_json.Length} bytes of JSON.");
    }

    [Benchmark]
    public byte[] Serialize_RunState5Steps() => JsonSerializer.SerializeToUtf8Bytes(_state, AgenticJson.Options);

    [Benchmark]
    public AgentRunState Deserialize_RunState5Steps() => JsonSerializer.Deserialize<AgentRunState>(_json, AgenticJson.Options)!;
}
