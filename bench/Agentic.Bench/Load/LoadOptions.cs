using System.Globalization;

namespace Agentic.Bench.Load;

/// <summary>Options of <c>load</c>: <c>--name value</c> pairs, all optional.</summary>
internal sealed record LoadOptions
{
    /// <summary>The sides in the order they run: (b) the local host on the engine, (c) the bare engine.</summary>
    public static readonly string[] AllSides = ["engine", "bare"];

    /// <summary>Timed runs per side.</summary>
    public int Runs { get; init; } = 200;

    /// <summary>Read-only steps per run: the diagnostics agent's <c>probes</c>.</summary>
    public int Steps { get; init; } = 5;

    /// <summary>Runs in flight at once; all of them by default.</summary>
    public int Concurrency { get; init; }

    /// <summary>Untimed runs first on each side, so JIT, connection pools and Azurite's collections are warm.</summary>
    public int Warmup { get; init; } = 10;

    /// <summary>Give up (and fail) when the timed part of one side takes longer.</summary>
    public int TimeoutSeconds { get; init; } = 600;

    /// <summary>Which sides run.</summary>
    public IReadOnlyList<string> Sides { get; init; } = AllSides;

    /// <summary>The tuning of both runtimes; the products' defaults unless given.</summary>
    public Tuning Tuning { get; init; } = new();

    /// <summary>The effective concurrency.</summary>
    public int InFlight => Concurrency > 0 ? Math.Min(Concurrency, Runs) : Runs;

    public static LoadOptions Parse(IReadOnlyList<string> args)
    {
        var options = new LoadOptions();
        foreach (var (name, value) in OptionReader.Pairs(args))
        {
            options = name switch
            {
                "--runs" => options with { Runs = OptionReader.Int(name, value, 1, 1_000_000) },
                "--steps" => options with { Steps = OptionReader.Int(name, value, 1, 20) },
                "--concurrency" => options with { Concurrency = OptionReader.Int(name, value, 1, 1_000_000) },
                "--warmup" => options with { Warmup = OptionReader.Int(name, value, 0, 10_000) },
                "--timeout-seconds" => options with { TimeoutSeconds = OptionReader.Int(name, value, 1, 86_400) },
                "--only" => options with { Sides = OptionReader.Sides(name, value, AllSides) },
                _ => options with { Tuning = options.Tuning.With(name, value) },
            };
        }
        return options;
    }
}

/// <summary>
/// The engine's settings the driver may change (<c>Agentic:Engine:*</c>, both sides use them); <c>null</c> leaves the
/// product's default.
/// </summary>
internal sealed record Tuning
{
    public int? EngineActivities { get; init; }

    public int? EngineOrchestrations { get; init; }

    public int? EnginePollMilliseconds { get; init; }

    public int? Partitions { get; init; }

    public Tuning With(string name, string value) => name switch
    {
        "--engine-activities" => this with { EngineActivities = OptionReader.Int(name, value, 1, 1024) },
        "--engine-orchestrations" => this with { EngineOrchestrations = OptionReader.Int(name, value, 1, 1024) },
        "--engine-poll-ms" => this with { EnginePollMilliseconds = OptionReader.Int(name, value, 10, 60_000) },
        "--partitions" => this with { Partitions = OptionReader.Int(name, value, 1, 16) },
        _ => throw new ArgumentException($"Unknown option: {name} {value}."),
    };

    /// <summary>The given settings of one side, as configuration keys.</summary>
    public Dictionary<string, string?> Settings(string side)
    {
        var settings = new Dictionary<string, string?>();
        void Set(string key, int? value)
        {
            if (value is { } v)
            {
                settings[key] = v.ToString(CultureInfo.InvariantCulture);
            }
        }
        Set("Agentic:Engine:MaxConcurrentActivities", EngineActivities);
        Set("Agentic:Engine:MaxConcurrentOrchestrations", EngineOrchestrations);
        Set("Agentic:Engine:MaxPollMilliseconds", EnginePollMilliseconds);
        Set("Agentic:Engine:PartitionCount", Partitions);
        return settings;
    }

    /// <summary>The engine's options with the given settings applied (for the bare side, which has no configuration).</summary>
    public Runtime.Engine.EngineOptions EngineOptions()
    {
        var options = new Runtime.Engine.EngineOptions();
        options.MaxConcurrentActivities = EngineActivities ?? options.MaxConcurrentActivities;
        options.MaxConcurrentOrchestrations = EngineOrchestrations ?? options.MaxConcurrentOrchestrations;
        options.MaxPollMilliseconds = EnginePollMilliseconds ?? options.MaxPollMilliseconds;
        options.PartitionCount = Partitions ?? options.PartitionCount;
        return options;
    }

    /// <summary>A line for the report: the effective tuning of a side.</summary>
    public string Describe(string side)
    {
        var engine = EngineOptions();
        return string.Create(CultureInfo.InvariantCulture,
            $"Agentic:Engine: PartitionCount={engine.PartitionCount}, MaxConcurrentActivities={engine.MaxConcurrentActivities}, MaxConcurrentOrchestrations={engine.MaxConcurrentOrchestrations}, MaxPollMilliseconds={engine.MaxPollMilliseconds}; the rest at the product's defaults");
    }
}

/// <summary>Reads <c>--name value</c> pairs.</summary>
internal static class OptionReader
{
    public static IEnumerable<(string Name, string Value)> Pairs(IReadOnlyList<string> args)
    {
        for (var i = 0; i < args.Count; i += 2)
        {
            if (i + 1 >= args.Count)
            {
                throw new ArgumentException($"Option {args[i]} needs a value.");
            }
            yield return (args[i], args[i + 1]);
        }
    }

    public static int Int(string name, string value, int min, int max) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
            ? n
            : throw new ArgumentException($"{name} must be an integer from {min} to {max}, not '{value}'.");

    public static IReadOnlyList<int> Ints(string name, string value, int min, int max) =>
        [.. value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(v => Int(name, v, min, max))];

    public static IReadOnlyList<string> Sides(string name, string value, IReadOnlyList<string> allowed)
    {
        var sides = value == "all" ? [.. allowed] : value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return sides.Length > 0 && sides.All(allowed.Contains)
            ? [.. allowed.Where(sides.Contains)]
            : throw new ArgumentException($"{name} takes a comma-separated list of {string.Join(", ", allowed)} (or all), not '{value}'.");
    }
}
