using System.Diagnostics;
using System.Globalization;
using System.Text;
using Agentic.Azure;
using Agentic.Bench.Simulation;
using Agentic.Core.Json;
using Agentic.Core.Workflow;
using Agentic.Runtime;
using Agentic.Testing;
using Microsoft.Extensions.Configuration;

namespace Agentic.Bench.Load;

/// <summary>What one side (runner or floor) measured.</summary>
internal sealed record SideResult(string Name, int Runs, int StepsPerRun, TimeSpan Wall, List<double> StepMs, List<double> GateToActMs)
{
    public double RunsPerSecond => Runs / Wall.TotalSeconds;

    public double StepsPerSecond => Runs * StepsPerRun / Wall.TotalSeconds;
}

/// <summary>
/// <c>load</c>: starts Azurite and the sample fleet, runs N diagnostics runs of K steps through the real
/// runner, then issues the same storage operations directly (the floor), and prints both and their ratio.
/// </summary>
internal static class LoadDriver
{
    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        var options = LoadOptions.Parse(args);
        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };
        var ct = cancel.Token;

        Say($"Agentic load: {options.Runs} runs x {options.Steps} steps of agent 'diagnostics' (read-only, all permitted), {options.InFlight} in flight, {options.Warmup} warm-up runs first; {Environment.ProcessorCount} cores, load average {LoadAverage()}.");
        await using var azurite = new Azurite();
        await azurite.StartAsync();
        await using var fleet = await SampleFleet.StartAsync();
        Say($"Azurite and the sample fleet ({fleet.BaseUri}) started.");
        Say(Stats.StepDefinition);
        using var meter = new StorageMeter(azurite.ConnectionString, fleet.BaseUri);

        SideResult? runner = null;
        SideResult? floor = null;
        var ok = true;
        try
        {
            if (options.Only != "floor")
            {
                (runner, var runnerOk) = await RunRunnerAsync(options, azurite, fleet, meter, ct);
                ok &= runnerOk;
            }
            if (options.Only != "runner")
            {
                floor = await RunFloorAsync(options, azurite, fleet, meter, ct);
            }
        }
        catch (OperationCanceledException)
        {
            Say($"FAILED: cancelled, or the timed part took longer than {options.TimeoutSeconds} s (--timeout-seconds).");
            return 1;
        }
        if (runner is not null && floor is not null)
        {
            var ratio = runner.Wall / floor.Wall;
            Say("");
            Say(string.Create(CultureInfo.InvariantCulture, $"ratio runner/floor: total time {ratio:0.00}x, steps/s {floor.StepsPerSecond / runner.StepsPerSecond:0.00}x (target <= 2.0: {(ratio <= 2.0 ? "met" : "NOT met")})"));
        }
        // Other processes on the machine compete with Azurite for the cores: say how busy it was.
        Say($"load average at the end: {LoadAverage()}");
        return ok ? 0 : 1;
    }

    private static async Task<(SideResult, bool)> RunRunnerAsync(LoadOptions options, Azurite azurite, SampleFleet fleet, StorageMeter meter, CancellationToken ct)
    {
        var hub = Hubs.New("bench");
        // A dev deployment whose runs may target the fleet.
        var settings = new Dictionary<string, string?>(RunnerLoad.Settings(options, azurite.ConnectionString, hub).Concat(fleet.TargetSettings()))
        {
            ["Agentic:Environment"] = "dev",
        };
        Say("");
        Say($"== runner: the local runtime in process (AddAgenticLocalRuntime on a generic host), hub {hub}");
        Say("   " + string.Join(", ", settings.Where(s => s.Key.StartsWith("Agentic:Runner:", StringComparison.Ordinal)).Select(s => $"{s.Key["Agentic:Runner:".Length..]}={s.Value}")) + "; other runner options at their defaults");
        await using var runner = await RunnerLoad.StartAsync(settings, ct);
        if (options.Warmup > 0)
        {
            await runner.RunAsync(Targets(fleet, "warm", options.Warmup), options.Steps, Math.Min(options.InFlight, options.Warmup), ct);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(options.TimeoutSeconds));
        meter.Take();
        var cost = ProcessCost.Start();
        var (ids, wall) = await RunnerLoad.TimeAsync(() => runner.RunAsync(Targets(fleet, "run", options.Runs), options.Steps, options.InFlight, timeout.Token));
        var spent = cost.Stop();
        var requests = meter.Take();
        var runs = await runner.ReadAsync(ids, ct);

        var ok = true;
        var bad = runs.Where(r => r.Status != RunStatus.Completed || r.State.Steps.Length != options.Steps || r.State.Steps.Any(s => s.Status != StepStatus.Succeeded)).ToList();
        if (bad.Count > 0)
        {
            ok = false;
            Say($"   FAILED: {bad.Count} run(s) did not complete all {options.Steps} steps, e.g. {bad[0].RunId}: {bad[0].Status}, {bad[0].State.FailureReason}");
        }
        if (runner.Problems.Count > 0)
        {
            Say("   runtime warnings/errors: " + string.Join(", ", runner.Problems.Select(p => $"{p.Key} x{p.Value}")));
        }
        var origin = DateTimeOffset.UnixEpoch;
        var latencies = runs.Select(r => Stats.StepLatencies(r.State.Log.Select(e => (e.Kind, (e.At - origin).TotalMilliseconds)))).ToList();
        PrintRequests(requests, options);
        PrintCost(spent, options);
        var result = new SideResult("runner", runs.Count, options.Steps, wall, [.. latencies.SelectMany(l => l.Steps)], [.. latencies.SelectMany(l => l.GateToAct)]);
        Print(result);
        return (result, ok);
    }

    private static async Task<SideResult> RunFloorAsync(LoadOptions options, Azurite azurite, SampleFleet fleet, StorageMeter meter, CancellationToken ct)
    {
        var hub = Hubs.New("floor");
        Say("");
        Say($"== floor: the runner's storage operations issued directly with the Azure SDK, one sequential chain per run, hub {hub}");
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["AgenticStorage"] = azurite.ConnectionString }).Build();
        var storage = new StorageClients(configuration, Microsoft.Extensions.Options.Options.Create(new AgenticStorageOptions { HubName = hub }));
        var floor = new FloorLoad(storage, TimeSpan.FromSeconds(options.LeaseSeconds));
        await floor.ProvisionAsync(ct);

        // Scripts (and the serialization in them) are built before the clock starts: the floor is storage only.
        static List<FloorScript> Scripts(IEnumerable<string> targets, int steps) =>
            [.. targets.Select(t => FloorScript.Build(DiagnosticsRun.Simulate("run-" + Guid.NewGuid().ToString("N"), t, steps, DateTimeOffset.UtcNow)))];
        var warm = Scripts(Targets(fleet, "warm", options.Warmup), options.Steps);
        var timed = Scripts(Targets(fleet, "run", options.Runs), options.Steps);
        PrintOperations(timed[0], options.Steps);

        var clock = Stopwatch.StartNew();
        await floor.RunAsync(warm, Math.Max(1, Math.Min(options.InFlight, options.Warmup)), clock, ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(options.TimeoutSeconds));
        meter.Take();
        var cost = ProcessCost.Start();
        var start = clock.Elapsed;
        var chains = await floor.RunAsync(timed, options.InFlight, clock, timeout.Token);
        var wall = clock.Elapsed - start;
        var spent = cost.Stop();
        PrintRequests(meter.Take(), options);
        PrintCost(spent, options);

        var empty = chains.Sum(c => c.EmptyReceives);
        if (empty > 0)
        {
            Say($"   {empty} receive(s) found the queue empty for a moment and were repeated (not counted above).");
        }
        var latencies = chains.Select(c => Stats.StepLatencies(c.Marks)).ToList();
        var result = new SideResult("floor", chains.Count, options.Steps, wall, [.. latencies.SelectMany(l => l.Steps)], [.. latencies.SelectMany(l => l.GateToAct)]);
        Print(result);
        return result;
    }

    private static void PrintOperations(FloorScript script, int steps)
    {
        var operations = script.Operations.ToList();
        var middle = steps >= 2 ? "s2" : "s1";
        var last = "s" + steps.ToString(CultureInfo.InvariantCulture);
        var step = operations.Where(o => o.Part == middle).ToList();
        Say($"   storage operations per step (gate + act of a read-only tool), counted on step {middle}: {step.Count}");
        foreach (var group in step.GroupBy(o => o.On).OrderBy(g => g.Key))
        {
            var counts = group.GroupBy(Verb).Select(v => $"{v.Count()} {v.Key}");
            var what = group.Select(o => o.What).Distinct();
            Say($"     {Name(group.Key),-13} {string.Join(", ", counts),-34} ({string.Join("; ", what)})");
        }
        var overhead = operations.Count(o => o.Part == "run");
        Say($"   per run: {overhead} for start, perceive and plan + {step.Count} per step, the last step {operations.Count(o => o.Part == last)} (completing dispatches nothing) = {operations.Count} for {steps} step(s)");
        var state = script.Ops.OfType<Transaction>().Last(t => t.RunRow is not null).RunRow!.GetBinary("State")!.Length;
        var work = script.Ops.OfType<Send>().Where(s => s.On == Target.Work).Average(s => Encoding.UTF8.GetByteCount(s.Body));
        var control = script.Ops.OfType<Send>().Where(s => s.On == Target.Control && s.Delay is null).Average(s => Encoding.UTF8.GetByteCount(s.Body));
        Say(string.Create(CultureInfo.InvariantCulture, $"   sizes: run state {script.Ops.OfType<Transaction>().Where(t => t.RunRow is not null).Average(t => t.RunRow!.GetBinary("State")!.Length):0} B on average, {state} B at completion; work item {work:0} B, control message {control:0} B on average"));
    }

    private static void PrintRequests(IReadOnlyDictionary<(string Service, string Method), Tally> requests, LoadOptions options)
    {
        Say("   requests on the wire in the timed part (count, per step, by method with mean latency):");
        foreach (var line in StorageMeter.Describe(requests, options.Runs * options.Steps))
        {
            Say("     " + line);
        }
    }

    private static void PrintCost(ProcessCost spent, LoadOptions options)
    {
        double steps = options.Runs * options.Steps;
        Say(string.Create(CultureInfo.InvariantCulture,
            $"   this process: CPU {spent.Cpu.TotalSeconds:0.00} s = {spent.Cpu.TotalMilliseconds / steps:0.00} ms per step, allocated {spent.Allocated / steps / 1024:0} KB per step, {spent.Collections} GCs (Azurite and the fleet are other processes)"));
    }

    private static string Verb(FloorOp op) => op switch
    {
        Transaction => "transaction",
        Get => "get",
        Upsert => "upsert",
        Send => "send",
        Receive => "receive",
        Delete => "delete",
        _ => op.GetType().Name,
    };

    private static string Name(Target target) => target switch
    {
        Target.Runs => "runs table",
        Target.Ledger => "ledger table",
        Target.Work => "work queue",
        _ => "control queue",
    };

    private static List<string> Targets(SampleFleet fleet, string prefix, int count) =>
        [.. Enumerable.Range(1, count).Select(i => fleet.Target(prefix + i.ToString(CultureInfo.InvariantCulture)))];

    private static void Print(SideResult r) => Say(string.Create(CultureInfo.InvariantCulture,
        $"{r.Name + ":",-8}{r.Runs} runs x {r.StepsPerRun} steps in {r.Wall.TotalSeconds:0.000} s: {r.RunsPerSecond:0.00} runs/s, {r.StepsPerSecond:0.0} steps/s; " +
        $"step p50 {Stats.Percentile(r.StepMs, 50):0.0} ms, p95 {Stats.Percentile(r.StepMs, 95):0.0} ms; gate-to-act p50 {Stats.Percentile(r.GateToActMs, 50):0.0} ms, p95 {Stats.Percentile(r.GateToActMs, 95):0.0} ms"));

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    private static void Say(string line) => Console.WriteLine(line);
}

/// <summary>CPU time and allocations of this process over a timed part.</summary>
internal sealed record ProcessCost(TimeSpan Cpu, long Allocated, int Collections)
{
    public static ProcessCost Start() => new(Process.GetCurrentProcess().TotalProcessorTime, GC.GetTotalAllocatedBytes(), GC.CollectionCount(0));

    public ProcessCost Stop() => new(Process.GetCurrentProcess().TotalProcessorTime - Cpu, GC.GetTotalAllocatedBytes() - Allocated, GC.CollectionCount(0) - Collections);
}
