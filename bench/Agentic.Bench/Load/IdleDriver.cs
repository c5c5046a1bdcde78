using System.Diagnostics;
using Agentic.Core.Runs;
using Agentic.Testing;
using static Agentic.Bench.Load.Report;

namespace Agentic.Bench.Load;

/// <summary>Options of <c>idle</c>: <c>--name value</c> pairs, all optional.</summary>
internal sealed record IdleOptions
{
    /// <summary>The Azurite modes, in the order they run: its data folder on disk (the product's and the tests' way), or
    /// in memory.</summary>
    public static readonly string[] AllModes = ["disk", "memory"];

    /// <summary>Parked runs at which the engine side is measured, ascending (runs are added between levels).</summary>
    public IReadOnlyList<int> Parked { get; init; } = [0, 1_000, 10_000];

    /// <summary>How long each idle window lasts.</summary>
    public int WindowSeconds { get; init; } = 30;

    /// <summary>Single submissions timed one after another after each window.</summary>
    public int Submits { get; init; } = 20;

    /// <summary>Runs on their way to park at once.</summary>
    public int ParkConcurrency { get; init; } = 128;

    /// <summary>
    /// Minutes of parking one mode may take (0: no limit). When they are up no new run is submitted, the runs on their way
    /// park, and the level is measured with the runs parked so far: on a shared 2-core box the emulator may not take
    /// 10,000 in the time there is.
    /// </summary>
    public int ParkMinutes { get; init; }

    /// <summary>Which Azurite modes run, each on a fresh Azurite and hub.</summary>
    public IReadOnlyList<string> Azurite { get; init; } = ["disk"];

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
                "--azurite" => options with { Azurite = OptionReader.Sides(name, value, AllModes) },
                "--park-minutes" => options with { ParkMinutes = OptionReader.Int(name, value, 0, 24 * 60) },
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
    string Mode, int Parked, int Added, TimeSpan SubmitTime, TimeSpan ParkTime, IReadOnlyDictionary<RequestKind, Tally> Requests, double WindowSeconds,
    double AzuriteCpuPercent, double AzuriteMb, double OwnCpuPercent, List<double> SubmitMs, IReadOnlyDictionary<RequestKind, Tally> SubmitRequests,
    double WorkingSetMb, double HeapMb, TimeSpan SinceFirstPark, string LoadAtWindow, string LoadAtSubmits);

/// <summary>
/// <c>idle</c>: parks N approval-gated runs (agent <c>scaler</c> to zero replicas: perceive, plan, a gate that answers
/// <c>require_approval</c>) on a fresh hub, lets the runtime settle, then measures for a fixed window the storage
/// requests per second it sends while nothing happens, times M single submissions one after another (and counts each
/// one's own storage requests), and reads the process's working set and GC heap; for each N of a list, adding runs
/// between levels, on the local host's engine, on Azurite with its data on disk and/or in memory.
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
        Say(F($"Agentic idle: runs parked on an approval; {options.WindowSeconds} s idle windows, {options.Submits} timed single submissions after each, parking {options.ParkConcurrency} runs at a time; Azurite {string.Join(", then ", options.Azurite)}; {Environment.ProcessorCount} cores, load average {LoadAverage()}."));
        var policy = IdlePolicy.Write();
        Say($"Policy {policy}: the shipped baseline with every approval timeout at {IdlePolicy.Timeout}, so no parked run's timer fires while it is measured (Agentic:Policy:Path).");
        await using var fleet = await SampleFleet.StartAsync();
        var rows = new List<IdleRow>();
        try
        {
            foreach (var mode in options.Azurite)
            {
                // A fresh Azurite per mode: the emulator slows down with what it holds (every table and queue of every hub).
                await using var azurite = new Azurite(inMemory: mode == "memory");
                await azurite.StartAsync();
                var emulator = OtherProcess.Azurite(azurite.ConnectionString);
                Say("");
                Say($"Azurite ({mode}){(emulator is null ? " (its CPU not readable)" : "")} started; the sample fleet at {fleet.BaseUri}.");
                using var meter = new StorageMeter(azurite.ConnectionString, fleet.BaseUri);
                await RunSideAsync("engine", mode, options, policy, azurite, fleet, meter, emulator, rows, ct);
            }
        }
        catch (OperationCanceledException)
        {
            Say("FAILED: cancelled.");
            Table(rows);
            return 1;
        }
        finally
        {
            File.Delete(policy);
        }
        Table(rows);
        Say($"load average at the end: {LoadAverage()}");
        return 0;
    }

    // Adds a row per level as it is measured, so a run stopped while parking (Ctrl+C) still prints the levels it reached.
    private static async Task RunSideAsync(string name, string mode, IdleOptions options, string policy, Azurite azurite, SampleFleet fleet, StorageMeter meter, OtherProcess? emulator, List<IdleRow> rows, CancellationToken ct)
    {
        var hub = Hubs.New("idle" + name);
        meter.Hub = hub;
        Say($"== (b) engine: the local host's runtime in process (AddAgenticLocalRuntime), hub {hub}, Azurite {mode}");
        Say("   " + options.Tuning.Describe(name));
        var settings = new Dictionary<string, string?>(fleet.TargetSettings())
        {
            ["AgenticStorage"] = azurite.ConnectionString,
            ["Agentic:HubName"] = hub,
            ["Agentic:Environment"] = "dev",
            ["Agentic:Policy:Path"] = policy,
        };
        foreach (var (key, value) in options.Tuning.Settings(name))
        {
            settings[key] = value;
        }
        await using LoadSide side = await EngineSide.StartAsync(settings, ct);
        // JIT and connections: a few runs that end.
        await side.RunAsync([fleet.Target("warm1"), fleet.Target("warm2"), fleet.Target("warm3")], 1, 3, ct);

        var target = fleet.Target("idle");
        var parked = 0;
        Stopwatch? sinceFirstPark = null;
        using var parkingOver = CancellationTokenSource.CreateLinkedTokenSource(ct);
        foreach (var level in options.Parked)
        {
            var added = 0;
            var submitTime = TimeSpan.Zero;
            var parkTime = TimeSpan.Zero;
            if (level > parked)
            {
                if (sinceFirstPark is null)
                {
                    sinceFirstPark = Stopwatch.StartNew();
                    if (options.ParkMinutes > 0)
                    {
                        parkingOver.CancelAfter(TimeSpan.FromMinutes(options.ParkMinutes));
                    }
                }
                Say(F($"   parking {level - parked} run(s) to reach {level} (load average {LoadAverage()}) ..."));
                (added, submitTime, parkTime) = await ParkAsync(side, target, level - parked, options.ParkConcurrency, parkingOver.Token, ct);
                parked += added;
                if (parked < level)
                {
                    Say(F($"   STOPPED parking at {parked}: --park-minutes {options.ParkMinutes} are up; measuring what is parked."));
                }
                Say(F($"   {added} parked: submitted in {submitTime.TotalSeconds:0.0} s ({added / Math.Max(submitTime.TotalSeconds, 0.001):0.0} submissions/s), all waiting for approval after {parkTime.TotalSeconds:0.0} s ({added / Math.Max(parkTime.TotalSeconds, 0.001):0.0} runs/s); {sinceFirstPark.Elapsed.TotalMinutes:0.0} min since the first parked run; load average {LoadAverage()}"));
            }

            await Task.Delay(TimeSpan.FromSeconds(SettleSeconds), ct);
            meter.Take();
            var loadAtWindow = LoadAverage();
            var own = ProcessCost.Start();
            var emulatorCpu = emulator?.Cpu() ?? TimeSpan.Zero;
            var window = Stopwatch.StartNew();
            await Task.Delay(TimeSpan.FromSeconds(options.WindowSeconds), ct);
            var seconds = window.Elapsed.TotalSeconds;
            var requests = meter.Take();
            var ownSpent = own.Stop();
            var emulatorSpent = (emulator?.Cpu() ?? TimeSpan.Zero) - emulatorCpu;
            var emulatorMb = (emulator?.Resident() ?? 0) / 1048576.0;
            var heap = GC.GetTotalMemory(forceFullCollection: true);
            var workingSet = Environment.WorkingSet;
            Say(F($"   N = {parked}: idle window of {seconds:0.0} s, load average {loadAtWindow} at its start; Azurite CPU {emulatorSpent.TotalSeconds * 100 / seconds:0.0}% of a core, {emulatorMb:0} MB resident; this process CPU {ownSpent.Cpu.TotalSeconds * 100 / seconds:0.0}%, working set {workingSet / 1048576.0:0} MB, GC heap {heap / 1048576.0:0.0} MB"));
            Requests(name, requests, seconds, "s");

            // Submit latency: one at a time, each a run that parks too; each one's own requests are marked.
            var submitMs = new List<double>();
            var ids = new List<string>();
            meter.TakeMarked();
            for (var i = 0; i < options.Submits; i++)
            {
                var watch = Stopwatch.StartNew();
                using (StorageMeter.Mark())
                {
                    ids.Add(await SubmitAsync(side, target, ct));
                }
                submitMs.Add(watch.Elapsed.TotalMilliseconds);
            }
            var submitRequests = meter.TakeMarked();
            var loadAtSubmits = LoadAverage();
            rows.Add(new IdleRow(mode, parked, added, submitTime, parkTime, requests, seconds, emulatorSpent.TotalSeconds * 100 / seconds, emulatorMb,
                ownSpent.Cpu.TotalSeconds * 100 / seconds, submitMs, submitRequests, workingSet / 1048576.0, heap / 1048576.0, sinceFirstPark?.Elapsed ?? TimeSpan.Zero, loadAtWindow, loadAtSubmits));
            Say(F($"   submit latency of {options.Submits} single submissions: p50 {Stats.Percentile(submitMs, 50):0.0} ms, p95 {Stats.Percentile(submitMs, 95):0.0} ms (load average {loadAtSubmits}); each one's own requests:"));
            Requests(name, submitRequests, options.Submits, "submission");
            sinceFirstPark ??= Stopwatch.StartNew();
            await WaitParkedAsync(side, ids, TimeSpan.FromMinutes(5), ct);
            parked += ids.Count;
            if (parkingOver.IsCancellationRequested)
            {
                break;
            }
        }

        if (side.Problems.Count > 0)
        {
            Say("   warnings/errors logged: " + string.Join(", ", side.Problems.Select(p => $"{p.Key} x{p.Value}")));
        }
    }

    private static void Table(List<IdleRow> rows)
    {
        if (rows.Count == 0)
        {
            return;
        }
        Say("");
        Say("== idle summary (req/s: storage requests on the wire per second of the idle window, by owner; submit: one submission at a time, after the window; req/subm: storage requests a submission sends itself; load: 1-minute load average at the window and after the submissions)");
        Say(F($"{"azurite",8}{"parked",7}{"park s",8}{"subm/s",8}{"parked/s",9}{"req/s",8}{"engine",8}{"gov",6}{"listen",8}{"mean ms",9}{"Az CPU%",9}{"Az MB",7}{"own CPU%",9}{"p50 ms",8}{"p95 ms",8}{"req/subm",9}{"WS MB",7}{"heap MB",8}{"min",6}  load"));
        foreach (var r in rows)
        {
            double Rate(string owner) => r.Requests.Where(q => Owner("engine", q.Key) == owner).Sum(q => q.Value.Count) / r.WindowSeconds;
            var storage = r.Requests.Where(q => q.Key.Service is not ("fleet" or "other")).ToList();
            var count = storage.Sum(q => q.Value.Count);
            var mean = count == 0 ? 0 : storage.Sum(q => q.Value.Seconds) * 1000 / count;
            var perSubmit = (double)StorageCount(r.SubmitRequests) / r.SubmitMs.Count;
            Say(F($"{r.Mode,8}{r.Parked,7}{r.ParkTime.TotalSeconds,8:0}{(r.Added == 0 ? 0 : r.Added / r.SubmitTime.TotalSeconds),8:0.0}{(r.Added == 0 ? 0 : r.Added / r.ParkTime.TotalSeconds),9:0.0}{count / r.WindowSeconds,8:0.00}{Rate("engine"),8:0.00}{Rate("governance"),6:0.0}{Rate("listener"),8:0.00}{mean,9:0.0}{r.AzuriteCpuPercent,9:0.0}{r.AzuriteMb,7:0}{r.OwnCpuPercent,9:0.0}{Stats.Percentile(r.SubmitMs, 50),8:0.0}{Stats.Percentile(r.SubmitMs, 95),8:0.0}{perSubmit,9:0.0}{r.WorkingSetMb,7:0}{r.HeapMb,8:0.0}{r.SinceFirstPark.TotalMinutes,6:0.0}  {r.LoadAtWindow} / {r.LoadAtSubmits}"));
        }
        foreach (var mode in rows.GroupBy(r => r.Mode))
        {
            var empty = mode.First();
            foreach (var r in mode.Skip(1))
            {
                Say(F($"   {mode.Key}, N = {r.Parked} against N = {empty.Parked}: req/s x{Ratio(StorageCount(r.Requests) / r.WindowSeconds, StorageCount(empty.Requests) / empty.WindowSeconds):0.00}, submit p50 x{Ratio(Stats.Percentile(r.SubmitMs, 50), Stats.Percentile(empty.SubmitMs, 50)):0.00}, requests per submission x{Ratio(StorageCount(r.SubmitRequests), StorageCount(empty.SubmitRequests)):0.00}, GC heap x{Ratio(r.HeapMb, empty.HeapMb):0.00}"));
            }
        }
    }

    private static double Ratio(double a, double b) => b == 0 ? double.NaN : a / b;

    private static Task<string> SubmitAsync(LoadSide side, string target, CancellationToken ct) => side switch
    {
        EngineSide engine => SubmitEngineAsync(engine, Requests.Parked(target), ct),
        _ => throw new NotSupportedException($"Side {side.Name} can not park runs."),
    };

    private static async Task<string> SubmitEngineAsync(EngineSide engine, RunRequest request, CancellationToken ct) =>
        (await engine.Runs.SubmitAsync(request, ct)).RunId;

    // Submits `count` parking runs and returns how many parked, the time until the last submission returned and the time
    // until the last one waited for approval. A slot is held from a run's submission until it parks, so at most
    // `concurrency` runs are on their way at any time: the engine works through them instead of a backlog of unprocessed
    // submissions that would spill into the idle window.
    // When `over` is cancelled no new run is submitted; the ones on their way still park.
    private static async Task<(int Parked, TimeSpan Submitted, TimeSpan AllParked)> ParkAsync(LoadSide side, string target, int count, int concurrency, CancellationToken over, CancellationToken ct)
    {
        using var slots = new SemaphoreSlim(concurrency, concurrency);
        var watch = Stopwatch.StartNew();
        var submitted = TimeSpan.Zero;
        var gate = new object();
        var done = 0;
        // Once parking is over, the runs on their way get 5 minutes: on a saturated emulator some may not park sooner.
        using var drain = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using var drainAfterOver = over.Register(() => drain.CancelAfter(TimeSpan.FromMinutes(5)));
        var submissions = Enumerable.Range(0, count).Select(async _ =>
        {
            await slots.WaitAsync(ct);
            try
            {
                if (over.IsCancellationRequested)
                {
                    return;
                }
                var id = await SubmitAsync(side, target, ct);
                lock (gate)
                {
                    submitted = watch.Elapsed;
                }
                try
                {
                    await side.Signals.ParkedAsync(id).WaitAsync(drain.Token);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    Say($"   WARNING: run {id} was not waiting for approval 5 minutes after parking stopped.");
                    return;
                }
                side.Signals.Forget(id);
                if (Interlocked.Increment(ref done) % 1000 == 0)
                {
                    Say(F($"     {done} parked in {watch.Elapsed.TotalSeconds:0} s ({done / watch.Elapsed.TotalSeconds:0.0} runs/s), load average {LoadAverage()}"));
                }
            }
            finally
            {
                slots.Release();
            }
        });
        await Task.WhenAll(submissions);
        return (done, submitted, watch.Elapsed);
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

/// <summary>
/// The policy the idle bench parks runs under: the shipped baseline, its approval timeouts raised to
/// <see cref="Timeout"/>, given to the host as <c>Agentic:Policy:Path</c> the way a deployment gives its own. Under the
/// baseline's 30 minutes the parked runs would escalate (work, and a timer per run that fires) while thousands more were
/// still being parked and measured.
/// </summary>
internal static class IdlePolicy
{
    /// <summary>Every approval timeout of the policy (the runs' own request asks for as long).</summary>
    public const string Timeout = "2d";

    /// <summary>Writes the policy to a temporary file and returns its path.</summary>
    public static string Write()
    {
        var baseline = File.ReadAllText(Path.Combine(Repo.Root, "policies", "baseline.yaml"));
        var yaml = baseline.Replace("id: baseline", "id: idle-bench", StringComparison.Ordinal)
            .Replace("timeout: 30m", "timeout: " + Timeout, StringComparison.Ordinal);
        if (yaml.Contains("timeout: 30m", StringComparison.Ordinal) || !yaml.Contains("id: idle-bench", StringComparison.Ordinal) || !yaml.Contains("timeout: " + Timeout, StringComparison.Ordinal))
        {
            throw new InvalidOperationException("policies/baseline.yaml no longer has the 'id: baseline' and 'timeout: 30m' lines the idle bench rewrites.");
        }
        var path = Path.Combine(Path.GetTempPath(), $"agentic-idle-bench-{Environment.ProcessId}.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }
}
