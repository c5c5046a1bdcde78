using System.Diagnostics;
using Agentic.Core.Runs;
using Agentic.Testing;
using Azure.Data.Tables;
using static Agentic.Bench.Load.Report;

namespace Agentic.Bench.Load;

/// <summary>Options of <c>idle</c>: <c>--name value</c> pairs, all optional.</summary>
internal sealed record IdleOptions
{
    /// <summary>Parked runs at which the engine side is measured, ascending (runs are added between levels).</summary>
    public IReadOnlyList<int> Parked { get; init; } = [0, 1_000, 10_000];

    /// <summary>How long each idle window lasts.</summary>
    public int WindowSeconds { get; init; } = 30;

    /// <summary>Single submissions timed one after another after each window.</summary>
    public int Submits { get; init; } = 20;

    /// <summary>Runs on their way to park at once.</summary>
    public int ParkConcurrency { get; init; } = 32;

    /// <summary>
    /// Time one side may take from its first parked run to its last window. Parked runs wait 30 minutes for approval
    /// (the baseline policy's timeout), then escalate, which is work: every window must end before that.
    /// </summary>
    public int BudgetMinutes { get; init; } = 25;

    public Tuning Tuning { get; init; } = new();

    public static IdleOptions Parse(IReadOnlyList<string> args)
    {
        var options = new IdleOptions();
        foreach (var (name, value) in OptionReader.Pairs(args))
        {
            options = name switch
            {
                "--parked" => options with { Parked = Ascending(name, OptionReader.Ints(name, value, 0, 100_000)) },
                "--window-seconds" => options with { WindowSeconds = OptionReader.Int(name, value, 1, 3600) },
                "--submits" => options with { Submits = OptionReader.Int(name, value, 1, 10_000) },
                "--park-concurrency" => options with { ParkConcurrency = OptionReader.Int(name, value, 1, 1024) },
                "--budget-minutes" => options with { BudgetMinutes = OptionReader.Int(name, value, 1, 29) },
                _ => options with { Tuning = options.Tuning.With(name, value) },
            };
        }
        return options;
    }

    private static IReadOnlyList<int> Ascending(string name, IReadOnlyList<int> levels) =>
        levels.Count > 0 && levels.Zip(levels.Skip(1)).All(p => p.First < p.Second)
            ? levels
            : throw new ArgumentException($"{name} takes ascending levels, e.g. 0,1000,10000.");
}

/// <summary>One idle measurement: a hub with <see cref="Parked"/> runs waiting for approval.</summary>
internal sealed record IdleRow(
    int Parked, int Added, TimeSpan SubmitTime, TimeSpan ParkTime, IReadOnlyDictionary<RequestKind, Tally> Requests, double WindowSeconds,
    double AzuriteCpuPercent, double AzuriteMb, double OwnCpuPercent, List<double> SubmitMs, double WorkingSetMb, double HeapMb, TimeSpan SinceFirstPark);

/// <summary>
/// <c>idle</c>: parks N approval-gated runs (agent <c>scaler</c> to zero replicas: perceive, plan, a gate that answers
/// <c>require_approval</c>) on a fresh hub, lets the runtime settle, then measures for a fixed window the storage
/// requests per second it sends while nothing happens, times M single submissions one after another, and reads the
/// process's working set and GC heap; for each N of a list, adding runs between levels, on the local host's engine.
/// </summary>
internal static class IdleDriver
{
    private const int SettleSeconds = 5;

    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        var options = IdleOptions.Parse(args);
        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };
        var ct = cancel.Token;
        Say(F($"Agentic idle: runs parked on an approval; {options.WindowSeconds} s idle windows, {options.Submits} timed single submissions after each, parking {options.ParkConcurrency} submissions at a time; {Environment.ProcessorCount} cores, load average {LoadAverage()}."));
        await using var fleet = await SampleFleet.StartAsync();
        var ok = true;
        try
        {
            // A fresh Azurite: the emulator slows down with what it holds (every table and queue of every hub).
            await using var azurite = new Azurite();
            await azurite.StartAsync();
            var emulator = OtherProcess.Azurite(azurite.ConnectionString);
            Say($"Azurite{(emulator is null ? " (its CPU not readable)" : "")} started; the sample fleet at {fleet.BaseUri}.");
            using var meter = new StorageMeter(azurite.ConnectionString, fleet.BaseUri);
            ok &= await RunSideAsync("engine", options.Parked, options, azurite, fleet, meter, emulator, ct);
        }
        catch (OperationCanceledException)
        {
            Say("FAILED: cancelled.");
            return 1;
        }
        Say($"load average at the end: {LoadAverage()}");
        return ok ? 0 : 1;
    }

    private static async Task<bool> RunSideAsync(string name, IReadOnlyList<int> levels, IdleOptions options, Azurite azurite, SampleFleet fleet, StorageMeter meter, OtherProcess? emulator, CancellationToken ct)
    {
        var hub = Hubs.New("idle" + name);
        meter.Hub = hub;
        Say("");
        Say($"== (b) engine: the local host's runtime in process (AddAgenticLocalRuntime), hub {hub}");
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
        await using LoadSide side = await EngineSide.StartAsync(settings, ct);
        // JIT and connections: a few runs that end.
        await side.RunAsync([fleet.Target("warm1"), fleet.Target("warm2"), fleet.Target("warm3")], 1, 3, ct);

        var target = fleet.Target("idle");
        var rows = new List<IdleRow>();
        var parked = 0;
        Stopwatch? sinceFirstPark = null;
        var budget = TimeSpan.FromMinutes(options.BudgetMinutes);
        foreach (var level in levels)
        {
            var added = 0;
            var submitTime = TimeSpan.Zero;
            var parkTime = TimeSpan.Zero;
            if (level > parked)
            {
                sinceFirstPark ??= Stopwatch.StartNew();
                var left = budget - sinceFirstPark.Elapsed - TimeSpan.FromSeconds(SettleSeconds + options.WindowSeconds + 60);
                Say(F($"   parking {level - parked} run(s) to reach {level} ..."));
                (added, submitTime, parkTime) = await ParkAsync(side, target, level - parked, options.ParkConcurrency, left, ct);
                parked += added;
                Say(F($"   {added} parked: submitted in {submitTime.TotalSeconds:0.0} s ({added / Math.Max(submitTime.TotalSeconds, 0.001):0.0} submissions/s), all waiting for approval after {parkTime.TotalSeconds:0.0} s ({added / Math.Max(parkTime.TotalSeconds, 0.001):0.0} runs/s); {sinceFirstPark.Elapsed.TotalMinutes:0.0} min since the first parked run"));
                if (parked < level)
                {
                    Say(F($"   STOPPED at {parked} parked: the {options.BudgetMinutes}-minute budget (--budget-minutes; parked runs escalate after 30 minutes) would not leave time for the window."));
                }
            }

            await Task.Delay(TimeSpan.FromSeconds(SettleSeconds), ct);
            meter.Take();
            var own = ProcessCost.Start();
            var emulatorCpu = emulator?.Cpu() ?? TimeSpan.Zero;
            var window = Stopwatch.StartNew();
            await Task.Delay(TimeSpan.FromSeconds(options.WindowSeconds), ct);
            var seconds = window.Elapsed.TotalSeconds;
            var requests = meter.Take();
            var ownSpent = own.Stop();
            var emulatorSpent = (emulator?.Cpu() ?? TimeSpan.Zero) - emulatorCpu;
            var heap = GC.GetTotalMemory(forceFullCollection: true);
            var workingSet = Environment.WorkingSet;
            Say(F($"   N = {parked}: idle window of {seconds:0.0} s"));
            Requests(name, requests, seconds, "s");

            // Submit latency: one at a time, each a run that parks too.
            var submitMs = new List<double>();
            var ids = new List<string>();
            for (var i = 0; i < options.Submits; i++)
            {
                var watch = Stopwatch.StartNew();
                ids.Add(await SubmitAsync(side, target, ct));
                submitMs.Add(watch.Elapsed.TotalMilliseconds);
            }
            rows.Add(new IdleRow(parked, added, submitTime, parkTime, requests, seconds, emulatorSpent.TotalSeconds * 100 / seconds, (emulator?.Resident() ?? 0) / 1048576.0,
                ownSpent.Cpu.TotalSeconds * 100 / seconds, submitMs, workingSet / 1048576.0, heap / 1048576.0, sinceFirstPark?.Elapsed ?? TimeSpan.Zero));
            Say(F($"   submit latency of {options.Submits} single submissions: p50 {Stats.Percentile(submitMs, 50):0.0} ms, p95 {Stats.Percentile(submitMs, 95):0.0} ms"));
            sinceFirstPark ??= Stopwatch.StartNew();
            await WaitParkedAsync(side, ids, TimeSpan.FromMinutes(5), ct);
            parked += ids.Count;
            if (parked < level || sinceFirstPark.Elapsed > budget)
            {
                break;
            }
        }

        Table(name, rows);
        if (side.Problems.Count > 0)
        {
            Say("   warnings/errors logged: " + string.Join(", ", side.Problems.Select(p => $"{p.Key} x{p.Value}")));
        }
        return true;
    }

    private static void Table(string name, List<IdleRow> rows)
    {
        Say("");
        Say($"== idle summary, {name} (requests/s: storage requests on the wire per second of the idle window, by owner; submit: one submission at a time, after the window)");
        Say(F($"{"parked",7}{"park s",8}{"subm/s",8}{"req/s",8}{"engine",8}{"gov",6}{"listen",8}{"mean ms",9}{"Azurite CPU%",14}{"Azurite MB",12}{"own CPU%",10}{"submit p50",12}{"p95 ms",8}{"WS MB",8}{"heap MB",9}{"min",6}"));
        foreach (var r in rows)
        {
            double Rate(string owner) => r.Requests.Where(q => Owner(name, q.Key) == owner).Sum(q => q.Value.Count) / r.WindowSeconds;
            var storage = r.Requests.Where(q => q.Key.Service is not ("fleet" or "other")).ToList();
            var count = storage.Sum(q => q.Value.Count);
            var mean = count == 0 ? 0 : storage.Sum(q => q.Value.Seconds) * 1000 / count;
            Say(F($"{r.Parked,7}{r.ParkTime.TotalSeconds,8:0}{(r.Added == 0 ? 0 : r.Added / r.SubmitTime.TotalSeconds),8:0.0}{count / r.WindowSeconds,8:0.00}{Rate("engine"),8:0.00}{Rate("governance"),6:0.0}{Rate("listener"),8:0.00}{mean,9:0.0}{r.AzuriteCpuPercent,14:0.0}{r.AzuriteMb,12:0}{r.OwnCpuPercent,10:0.0}{Stats.Percentile(r.SubmitMs, 50),12:0.0}{Stats.Percentile(r.SubmitMs, 95),8:0.0}{r.WorkingSetMb,8:0}{r.HeapMb,9:0.0}{r.SinceFirstPark.TotalMinutes,6:0.0}"));
        }
    }

    private static Task<string> SubmitAsync(LoadSide side, string target, CancellationToken ct) => side switch
    {
        EngineSide engine => SubmitEngineAsync(engine, Requests.Parked(target), ct),
        _ => throw new NotSupportedException($"Side {side.Name} can not park runs."),
    };

    private static async Task<string> SubmitEngineAsync(EngineSide engine, RunRequest request, CancellationToken ct) =>
        (await engine.Runs.SubmitAsync(request, ct)).RunId;

    // Submits `count` parking runs and returns how many parked, the time until the last submission returned and the time
    // until the last one waited for approval. A slot is held from a run's submission until it parks, so at most
    // `concurrency` runs are on their way at any time and stopping at the budget leaves little to drain.
    private static async Task<(int Parked, TimeSpan Submitted, TimeSpan AllParked)> ParkAsync(LoadSide side, string target, int count, int concurrency, TimeSpan budget, CancellationToken ct)
    {
        using var slots = new SemaphoreSlim(concurrency, concurrency);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        stop.CancelAfter(budget > TimeSpan.Zero ? budget : TimeSpan.FromSeconds(1));
        var watch = Stopwatch.StartNew();
        var ids = new List<string>();
        var submitted = TimeSpan.Zero;
        var submissions = Enumerable.Range(0, count).Select(async _ =>
        {
            await slots.WaitAsync(ct);
            try
            {
                if (stop.IsCancellationRequested)
                {
                    return;
                }
                var id = await SubmitAsync(side, target, ct);
                lock (ids)
                {
                    ids.Add(id);
                    submitted = watch.Elapsed;
                }
                await side.Signals.ParkedAsync(id).WaitAsync(ct);
                side.Signals.Forget(id);
            }
            finally
            {
                slots.Release();
            }
        });
        await Task.WhenAll(submissions);
        return (ids.Count, submitted, watch.Elapsed);
    }

    // The timed submissions park too before the next level: wait for each to wait for approval (learned from the log).
    private static async Task WaitParkedAsync(LoadSide side, IReadOnlyList<string> ids, TimeSpan timeout, CancellationToken ct)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(timeout);
        try
        {
            foreach (var id in ids)
            {
                await side.Signals.ParkedAsync(id).WaitAsync(limit.Token);
                side.Signals.Forget(id);
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            Say(F($"   WARNING: not every run was waiting for approval within {timeout.TotalMinutes:0.#} min ({side.Signals.ParkedCount} seen on the engine)."));
        }
    }
}
