using System.Globalization;
using Agentic.Azure;
using Agentic.Core.Policy.Language;
using Agentic.Core.Policy.Lifecycle;
using Azure;
using Microsoft.Extensions.Options;

namespace Agentic.LocalHost;

/// <summary>
/// `agentic policy simulate --policy &lt;file&gt; [--since &lt;ISO time&gt;] [--max N] [--settings local.settings.json]`:
/// re-evaluates the decisions recorded on the configured storage and hub (the same settings `agentic up` reads) with a
/// candidate policy, and lists every decision that would change. Exit codes: 0 done (changes are information, not
/// failure), 1 the candidate does not load or the decisions can not be read, 2 usage.
/// </summary>
internal static class PolicySimulateCommand
{
    private static readonly string[] Known = ["--policy", "--since", "--max", "--settings"];

    public static async Task<int> RunAsync(string[] args)
    {
        if (CommandArguments.Parse(args, Known, [], out var values, out _) is { } usage)
        {
            return Usage(usage);
        }
        if (values.GetValueOrDefault("--policy") is not { Length: > 0 } path)
        {
            return Usage("--policy <file> is required.");
        }
        DateTimeOffset? since = null;
        if (values.GetValueOrDefault("--since") is { } sinceText)
        {
            if (!DateTimeOffset.TryParse(sinceText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
            {
                return Usage($"--since '{sinceText}' is not an ISO 8601 time (e.g. 2025-01-31T12:00:00Z).");
            }
            since = parsed;
        }
        var max = 10_000;
        if (values.GetValueOrDefault("--max") is { } maxText
            && (!int.TryParse(maxText, NumberStyles.None, CultureInfo.InvariantCulture, out max) || max is < 1 or > 100_000))
        {
            return Usage($"--max '{maxText}' must be a whole number from 1 to 100000.");
        }

        CompiledPolicy candidate;
        try
        {
            candidate = PolicyLoader.LoadFile(path);
        }
        catch (PolicyLoadException ex)
        {
            await Console.Error.WriteLineAsync($"agentic: the candidate policy does not load ({ex.Diagnostics.Count} problem{(ex.Diagnostics.Count == 1 ? "" : "s")}):");
            foreach (var d in ex.Diagnostics)
            {
                await Console.Error.WriteLineAsync($"{d.File}:{d.Line}:{d.Column}: {d.Code}: {d.Message}");
            }
            return 1;
        }

        IConfiguration configuration;
        try
        {
            var (_, settings) = LocalSettings.Load(values.GetValueOrDefault("--settings"));
            configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).AddEnvironmentVariables().Build();
        }
        catch (Exception ex) when (ex is FileNotFoundException or System.Text.Json.JsonException)
        {
            return Usage(ex.Message);
        }

        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };
        SimulationReport report;
        try
        {
            // The same storage layer the host builds: connection string or identity, hub name, validated.
            await using var services = new ServiceCollection().AddSingleton(configuration).AddAgenticAzureStorage(configuration).BuildServiceProvider();
            var log = services.GetRequiredService<IDecisionLog>();
            try
            {
                report = await DecisionSimulator.SimulateAsync(log.ReadDecisionsAsync(since, max, cancel.Token), candidate, cancel.Token);
            }
            catch (RequestFailedException ex) when (ex.Status == 404)
            {
                // No ledger table: nothing was ever decided on this hub.
                await Console.Error.WriteLineAsync($"agentic: no decisions are recorded on hub '{services.GetRequiredService<StorageClients>().Options.HubName}'.");
                report = DecisionSimulator.Simulate([], candidate);
            }
        }
        catch (Exception ex) when (ex is RequestFailedException or HttpRequestException or InvalidOperationException or OptionsValidationException or AggregateException)
        {
            await Console.Error.WriteLineAsync("agentic: the recorded decisions can not be read: " + ex.Message);
            return 1;
        }
        catch (OperationCanceledException)
        {
            await Console.Error.WriteLineAsync("agentic: cancelled.");
            return 130;
        }
        Console.Write(report.Format());
        return 0;
    }

    private static int Usage(string problem)
    {
        Console.Error.WriteLine("agentic: " + problem);
        Console.Error.WriteLine("usage: agentic policy simulate --policy <file> [--since <ISO time>] [--max N] [--settings local.settings.json]");
        return 2;
    }
}
