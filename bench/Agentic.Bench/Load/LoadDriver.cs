using System.Diagnostics;
using System.Globalization;
using Agentic.Testing;
using static Agentic.Bench.Load.Report;

namespace Agentic.Bench.Load;

/// <summary>What one side measured.</summary>
internal sealed record SideResult(
    string Name, int Runs, int StepsPerRun, TimeSpan Wall, List<double> StepMs, List<double> GateToActMs,
    IReadOnlyDictionary<RequestKind, Tally> Requests, ProcessCost Cost)
{
    public int Steps => Runs * StepsPerRun;

    public double RunsPerSecond => Runs / Wall.TotalSeconds;

    public double StepsPerSecond => Steps / Wall.TotalSeconds;

    public double StepP50 => Stats.Percentile(StepMs, 50);

    public double StepP95 => Stats.Percentile(StepMs, 95);

    public double StorageRequestsPerStep => (double)StorageCount(Requests) / Steps;

    public double CpuMsPerStep => Cost.Cpu.TotalMilliseconds / Steps;

    public double AllocatedKbPerStep => Cost.Allocated / 1024.0 / Steps;
}

/// <summary>
/// <c>load</c>: starts one Azurite and the sample fleet, then runs the same load (N diagnostics runs of K read-only,
/// permitted steps) through (b) the local host on the Durable Task engine and (c) the bare engine
/// with a trivial orchestrator of as many activities, one side after the other on fresh hubs, and prints each side,
/// a summary and the ratio (b)/(c).
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

        Say(F($"Agentic load: {options.Runs} runs x {options.Steps} steps of agent 'diagnostics' (read-only, all permitted) on each of {string.Join(", ", options.Sides)}; {options.InFlight} in flight, {options.Warmup} warm-up runs first; {Environment.ProcessorCount} cores, load average {LoadAverage()}."));
        await using var azurite = new Azurite();
        await azurite.StartAsync();
        await using var fleet = await SampleFleet.StartAsync();
        Say($"Azurite and the sample fleet ({fleet.BaseUri}) started.");
        Say(Stats.StepDefinition);
        using var meter = new StorageMeter(azurite.ConnectionString, fleet.BaseUri);

        var results = new List<SideResult>();
        var ok = true;
        try
        {
            foreach (var name in options.Sides)
            {
                var (result, sideOk) = await RunSideAsync(name, options, azurite, fleet, meter, ct);
                results.Add(result);
                ok &= sideOk;
            }
        }
        catch (OperationCanceledException)
        {
            Say($"FAILED: cancelled, or the timed part took longer than {options.TimeoutSeconds} s (--timeout-seconds).");
            return 1;
        }
        Summary(results);
        Say($"load average at the end: {LoadAverage()}");
        return ok ? 0 : 1;
    }

    private static async Task<(SideResult, bool)> RunSideAsync(string name, LoadOptions options, Azurite azurite, SampleFleet fleet, StorageMeter meter, CancellationToken ct)
    {
        var hub = Hubs.New(name);
        meter.Hub = hub;
        Say("");
        Say(name switch
        {
            "engine" => $"== (b) engine: the local host's runtime in process (AddAgenticLocalRuntime on a generic host: Durable Task engine on Azure Storage, AgentRunOrchestrator, governed activities), hub {hub}",
            _ => $"== (c) bare: the same engine, settings and SDK shim running a trivial orchestrator of 2 + 2K no-op activities (no governance, no fleet), hub {hub}",
        });
        Say("   " + options.Tuning.Describe(name));
        var settings = new Dictionary<string, string?>(fleet.TargetSettings())
        {
            ["AgenticStorage"] = azurite.ConnectionString,
            ["Agentic:HubName"] = hub,
            ["Agentic:Environment"] = "dev",
        };
        foreach (var (key, value) in options.Tuning.Settings(name))
        {
            settings[key] = value;
        }
        await using LoadSide side = name switch
        {
            "engine" => await EngineSide.StartAsync(settings, ct),
            _ => await BareSide.StartAsync(azurite.ConnectionString, hub, options.Tuning.EngineOptions(), ct),
        };
        if (options.Warmup > 0)
        {
            await side.RunAsync(Targets(fleet, "warm", options.Warmup), options.Steps, Math.Min(options.InFlight, options.Warmup), ct);
            // The engine logs a run's end before it commits the last episode: let the warm-up's last commits and deletes
            // land outside the timed part.
            await Task.Delay(TimeSpan.FromSeconds(3), ct);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(options.TimeoutSeconds));
        meter.Take();
        var cost = ProcessCost.Start();
        var watch = Stopwatch.StartNew();
        var ids = await side.RunAsync(Targets(fleet, "run", options.Runs), options.Steps, options.InFlight, timeout.Token);
        var wall = watch.Elapsed;
        var spent = cost.Stop();
        var requests = meter.Take();
        var runs = await side.ReadAllAsync(ids, options.Steps, ct);

        var ok = true;
        var bad = runs.Where(r => !r.Ok).ToList();
        if (bad.Count > 0)
        {
            ok = false;
            Say($"   FAILED: {bad.Count} run(s) did not complete all {options.Steps} steps, e.g. {bad[0].RunId}: {bad[0].Detail}");
        }
        if (side.Problems.Count > 0)
        {
            Say("   warnings/errors logged: " + string.Join(", ", side.Problems.Select(p => $"{p.Key} x{p.Value}")));
        }
        var latencies = runs.Select(r => Stats.StepLatencies(r.Marks)).ToList();
        var result = new SideResult(name, runs.Count, options.Steps, wall, [.. latencies.SelectMany(l => l.Steps)], [.. latencies.SelectMany(l => l.GateToAct)], requests, spent);
        Requests(name, requests, result.Steps, "step");
        Say(F($"   this process: CPU {spent.Cpu.TotalSeconds:0.00} s = {result.CpuMsPerStep:0.00} ms per step, allocated {result.AllocatedKbPerStep:0} KB per step, {spent.Collections} gen0 GCs (Azurite and the fleet are other processes)"));
        Say(F($"{name + ":",-8}{result.Runs} runs x {result.StepsPerRun} steps in {wall.TotalSeconds:0.000} s: {result.RunsPerSecond:0.00} runs/s, {result.StepsPerSecond:0.0} steps/s; step p50 {result.StepP50:0.0} ms, p95 {result.StepP95:0.0} ms; gate-to-act p50 {Stats.Percentile(result.GateToActMs, 50):0.0} ms, p95 {Stats.Percentile(result.GateToActMs, 95):0.0} ms"));
        return (result, ok);
    }

    private static void Summary(List<SideResult> results)
    {
        if (results.Count == 0)
        {
            return;
        }
        Say("");
        Say("== summary (timed part of each side; storage requests counted on the wire, CPU and allocations of this process)");
        Say(F($"{"side",-8}{"runs",6}{"steps",7}{"wall s",9}{"runs/s",8}{"steps/s",9}{"step p50 ms",13}{"p95 ms",9}{"storage req/step",18}{"CPU ms/step",13}{"alloc KB/step",15}"));
        foreach (var r in results)
        {
            Say(F($"{r.Name,-8}{r.Runs,6}{r.Steps,7}{r.Wall.TotalSeconds,9:0.00}{r.RunsPerSecond,8:0.00}{r.StepsPerSecond,9:0.0}{r.StepP50,13:0.0}{r.StepP95,9:0.0}{r.StorageRequestsPerStep,18:0.00}{r.CpuMsPerStep,13:0.00}{r.AllocatedKbPerStep,15:0}"));
        }
        var engine = results.FirstOrDefault(r => r.Name == "engine");
        var others = results.Where(r => r.Name != "engine").ToList();
        if (engine is null || others.Count == 0)
        {
            return;
        }
        Say("");
        Say("ratios " + string.Concat(others.Select(o => $"{"engine/" + o.Name,14}")) + "   (wall time: above 1 is slower; steps/s: below 1 is slower)");
        void Row(string what, Func<SideResult, double> value) =>
            Say(F($"{what,-26}") + string.Concat(others.Select(o => F($"{value(engine) / value(o),13:0.00}x"))));
        Row("wall time", r => r.Wall.TotalSeconds);
        Row("steps/s", r => r.StepsPerSecond);
        Row("step p50", r => r.StepP50);
        Row("step p95", r => r.StepP95);
        Row("storage requests/step", r => r.StorageRequestsPerStep);
        Row("CPU/step", r => r.CpuMsPerStep);
        Row("allocated/step", r => r.AllocatedKbPerStep);
    }

    private static List<string> Targets(SampleFleet fleet, string prefix, int count) =>
        [.. Enumerable.Range(1, count).Select(i => fleet.Target(prefix + i.ToString(CultureInfo.InvariantCulture)))];
}
