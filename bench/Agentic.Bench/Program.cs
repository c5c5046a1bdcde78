using Agentic.Bench.Load;
using Agentic.Bench.Micro;
using Agentic.Testing;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

// dotnet run -c Release --project bench/Agentic.Bench -- load [--runs 200 --steps 5 --only engine,bare ...]
// dotnet run -c Release --project bench/Agentic.Bench -- idle [--parked 0,1000,10000 --window-seconds 30 ...]
// dotnet run -c Release --project bench/Agentic.Bench -- audit [--records 2000 --verify-records 100000]
// dotnet run -c Release --project bench/Agentic.Bench -- micro [BenchmarkDotNet arguments]
const string Usage = "usage: Agentic.Bench load [--runs N] [--steps K] [--concurrency C] [--warmup W] [--timeout-seconds T] [--only engine,bare] [tuning]\n" +
    "       Agentic.Bench idle [--parked 0,1000,10000] [--window-seconds S] [--submits M] [--park-concurrency P] [--azurite disk,memory] [--park-minutes M] [tuning]\n" +
    "       Agentic.Bench audit [--records N] [--verify-records M] [--rounds R]\n" +
    "       Agentic.Bench micro [BenchmarkDotNet arguments, e.g. --filter *Decider*]\n" +
    "tuning: [--engine-activities A] [--engine-orchestrations O] [--engine-poll-ms P] [--partitions N]";

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
    case "idle":
        try
        {
            return await IdleDriver.RunAsync(args[1..]);
        }
        catch (ArgumentException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message + "\n" + Usage);
            return 2;
        }
    case "audit":
        try
        {
            return await Agentic.Bench.Audit.AuditDriver.RunAsync(args[1..]);
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
        var summaries = BenchmarkSwitcher.FromTypes([typeof(DeciderBenchmarks), typeof(RunStateBenchmarks), typeof(PolicyBenchmarks), typeof(GateBenchmarks), typeof(RedactionBenchmarks), typeof(AuthenticationBenchmarks), typeof(AdmissionBenchmarks)]).Run(args[1..].Length == 0 ? ["--filter", "*", "--join"] : args[1..], config);
        return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
    default:
        await Console.Error.WriteLineAsync(Usage);
        return 2;
}
