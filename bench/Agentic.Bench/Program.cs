using Agentic.Bench.Load;
using Agentic.Bench.Micro;
using Agentic.Testing;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

// dotnet run -c Release --project bench/Agentic.Bench -- load [--runs 200 --steps 5 --concurrency N ...]
// dotnet run -c Release --project bench/Agentic.Bench -- micro [BenchmarkDotNet arguments]
const string Usage = "usage: Agentic.Bench load [--runs N] [--steps K] [--concurrency C] [--warmup W] [--activities A] [--events E] [--poll-ms P] [--lease-seconds L] [--timeout-seconds T] [--only both|runner|floor]\n" +
    "       Agentic.Bench micro [BenchmarkDotNet arguments, e.g. --filter *Decider*]";

switch (args.FirstOrDefault())
{
    case "load":
        try
        {
            return await LoadDriver.RunAsync(args[1..]);
        }
        catch (ArgumentException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message + "\n" + Usage);
            return 2;
        }
    case "micro":
        // In process: the generated-project toolchain does not find this repository's .artifacts build layout,
        // and a short in-process job is plenty for allocation counts and relative costs.
        var config = DefaultConfig.Instance
            .AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance))
            .WithArtifactsPath(Path.Combine(Repo.Root, ".artifacts", "benchmarks"));
        var summaries = BenchmarkSwitcher.FromTypes([typeof(DeciderBenchmarks), typeof(RunStateBenchmarks), typeof(PolicyBenchmarks), typeof(GateBenchmarks), typeof(RedactionBenchmarks), typeof(AuthenticationBenchmarks)]).Run(args[1..].Length == 0 ? ["--filter", "*", "--join"] : args[1..], config);
        return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
    default:
        await Console.Error.WriteLineAsync(Usage);
        return 2;
}
