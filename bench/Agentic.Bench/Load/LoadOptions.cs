using System.Globalization;

namespace Agentic.Bench.Load;

/// <summary>Options of <c>load</c>: <c>--name value</c> pairs, all optional.</summary>
internal sealed record LoadOptions
{
    /// <summary>Timed runs (and floor chains).</summary>
    public int Runs { get; init; } = 200;

    /// <summary>Read-only steps per run: the diagnostics agent's <c>probes</c>.</summary>
    public int Steps { get; init; } = 5;

    /// <summary>Runs (chains) in flight at once; all of them by default.</summary>
    public int Concurrency { get; init; }

    /// <summary>Untimed runs (and chains) first, so JIT, connection pools and Azurite's collections are warm.</summary>
    public int Warmup { get; init; } = 10;

    // The runner's tuning defaults to the product's defaults. Measured at N=200, K=5 on 2 cores: more slots
    // (64/64, 128/128) only queue more requests in Azurite's single event loop (128/128 was the slowest), and
    // shorter polls add empty receives without cutting latency, since in-process enqueues wake the pumps.

    /// <summary>Agentic:Runner:MaxConcurrentActivities.</summary>
    public int Activities { get; init; } = 32;

    /// <summary>Agentic:Runner:MaxConcurrentEvents.</summary>
    public int Events { get; init; } = 16;

    /// <summary>Agentic:Runner:MaxPollMilliseconds.</summary>
    public int PollMilliseconds { get; init; } = 500;

    /// <summary>Agentic:Runner:WorkLeaseSeconds and ControlLeaseSeconds (the floor receives with the same lease).</summary>
    public int LeaseSeconds { get; init; } = 30;

    /// <summary>Give up (and fail) when the timed part of one side takes longer.</summary>
    public int TimeoutSeconds { get; init; } = 600;

    /// <summary><c>both</c>, <c>runner</c> or <c>floor</c>.</summary>
    public string Only { get; init; } = "both";

    /// <summary>The effective concurrency.</summary>
    public int InFlight => Concurrency > 0 ? Math.Min(Concurrency, Runs) : Runs;

    public static LoadOptions Parse(IReadOnlyList<string> args)
    {
        var options = new LoadOptions();
        for (var i = 0; i < args.Count; i += 2)
        {
            if (i + 1 >= args.Count)
            {
                throw new ArgumentException($"Option {args[i]} needs a value.");
            }
            var value = args[i + 1];
            options = args[i] switch
            {
                "--runs" => options with { Runs = Positive(args[i], value) },
                "--steps" => options with { Steps = Range(args[i], value, 1, 20) },
                "--concurrency" => options with { Concurrency = Positive(args[i], value) },
                "--warmup" => options with { Warmup = Range(args[i], value, 0, 10_000) },
                "--activities" => options with { Activities = Range(args[i], value, 1, 1024) },
                "--events" => options with { Events = Range(args[i], value, 1, 1024) },
                "--poll-ms" => options with { PollMilliseconds = Range(args[i], value, 10, 60_000) },
                "--lease-seconds" => options with { LeaseSeconds = Range(args[i], value, 2, 600) },
                "--timeout-seconds" => options with { TimeoutSeconds = Positive(args[i], value) },
                "--only" when value is "both" or "runner" or "floor" => options with { Only = value },
                _ => throw new ArgumentException($"Unknown option or value: {args[i]} {value}."),
            };
        }
        return options;
    }

    private static int Positive(string name, string value) => Range(name, value, 1, int.MaxValue);

    private static int Range(string name, string value, int min, int max) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
            ? n
            : throw new ArgumentException($"{name} must be an integer from {min} to {max}, not '{value}'.");
}
