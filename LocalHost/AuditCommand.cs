using System.Globalization;
using System.Text;
using System.Text.Json;
using Agentic.Azure;
using Agentic.Core.Audit;
using Agentic.Core.Json;
using Azure;
using Microsoft.Extensions.Options;

namespace Agentic.LocalHost;

/// <summary>
/// `agentic audit verify [--run ID | --all] [--public-key FILE] [--settings F]` and
/// `agentic audit export [--run ID] [--since ISO] [--out FILE] [--public-key FILE] [--settings F]`. Both need read access
/// to the audit table and the checkpoint blobs of the configured storage and hub, and the public key(s) to trust: nothing
/// else, no host, no private key. Verify exits 0 when everything asked for verifies, 1 when something does not (or can not
/// be read), 2 on usage errors. Export writes JSON Lines for a SIEM: every record with its chain hash, each chain's proof
/// (the checkpoint that signed its head, the leaf, the inclusion path), and the checkpoints themselves.
/// </summary>
internal static class AuditCommand
{
    private static readonly string[] Flags = ["--all"];
    private static readonly string[] Known = ["--run", "--public-key", "--settings", "--since", "--out"];

    public static async Task<int> RunAsync(string[] args) => args switch
    {
        ["verify", .. var rest] => await VerifyAsync(rest),
        ["export", .. var rest] => await ExportAsync(rest),
        _ => Usage("expected 'verify' or 'export'."),
    };

    private static async Task<int> VerifyAsync(string[] args)
    {
        if (CommandArguments.Parse(args, Known, Flags, out var values, out var flags) is { } problem)
        {
            return Usage(problem);
        }
        var run = values.GetValueOrDefault("--run");
        var all = flags.Contains("--all");
        if (run is null == !all)
        {
            return Usage("give one of --run <id> or --all.");
        }
        return await WithStoresAsync(values, async (reader, keys, ct) =>
        {
            var report = await reader.VerifyAsync(run is null ? null : [run], keys, ct);
            Console.Write(Format(report, keys));
            return report.Valid ? 0 : 1;
        });
    }

    private static async Task<int> ExportAsync(string[] args)
    {
        var problem = CommandArguments.Parse(args, Known, Flags, out var values, out var flags);
        if (problem is not null || flags.Count > 0)
        {
            return Usage(problem ?? "export takes no --all: it exports every chain unless --run is given.");
        }
        DateTimeOffset? since = null;
        if (values.GetValueOrDefault("--since") is { } sinceText)
        {
            if (!DateTimeOffset.TryParse(sinceText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
            {
                return Usage($"--since '{sinceText}' is not an ISO 8601 time (e.g. 2026-01-31T12:00:00Z).");
            }
            since = parsed;
        }
        var run = values.GetValueOrDefault("--run");
        return await WithStoresAsync(values, async (reader, keys, ct) =>
        {
            var report = await reader.VerifyAsync(run is null ? null : [run], keys, ct);
            await using var output = values.GetValueOrDefault("--out") is { } path ? new StreamWriter(path, append: false, new UTF8Encoding(false)) : new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false));
            var lines = 0;
            foreach (var chain in report.Chains)
            {
                var records = await reader.ReadAsync(chain.Chain, ct);
                if (since is { } from && !records.Any(r => r.At >= from))
                {
                    continue;
                }
                foreach (var record in records.Where(r => since is null || r.At >= since))
                {
                    await output.WriteLineAsync(JsonSerializer.Serialize(new { type = "record", record.Chain, record.Seq, record.Id, record.Kind, record.At, record.DerivedFrom, record.Data, record.Hash }, AgenticJson.Options));
                    lines++;
                }
                await output.WriteLineAsync(JsonSerializer.Serialize(new { type = "proof", chain.Chain, chain.Valid, chain.Records, chain.Head, chain.Broken, chain.Coverage, chain.Uncovered, chain.Purged }, AgenticJson.Options));
                lines++;
            }
            await foreach (var checkpoint in reader.CheckpointsAsync(ct))
            {
                await output.WriteLineAsync($"{{\"type\":\"checkpoint\",\"location\":{JsonSerializer.Serialize(checkpoint.Location)},\"checkpoint\":{Encoding.UTF8.GetString(checkpoint.Line)}}}");
                lines++;
            }
            await output.FlushAsync(ct);
            await Console.Error.WriteLineAsync($"agentic: exported {lines} line(s) of {report.Chains.Count} chain(s); verification: {(report.Valid ? "valid" : "NOT valid")}.");
            return report.Valid ? 0 : 1;
        });
    }

    // Builds the storage layer from the host's settings and the trusted keys from --public-key (or the dev key's public
    // half), then runs the command; storage errors are reported, not thrown.
    private static async Task<int> WithStoresAsync(Dictionary<string, string> values, Func<AuditReader, IReadOnlyList<AuditPublicKey>, CancellationToken, Task<int>> command)
    {
        var keyPath = values.GetValueOrDefault("--public-key") ?? (File.Exists(LocalAuditKey.PublicPath) ? LocalAuditKey.PublicPath : null);
        if (keyPath is null)
        {
            return Usage($"--public-key <file> is required (the PEM public key(s) checkpoints are signed with; GET /api/audit/keys serves them). No dev key at {LocalAuditKey.PublicPath}.");
        }
        IReadOnlyList<AuditPublicKey> keys;
        IConfiguration configuration;
        try
        {
            keys = AuditPublicKey.ParseAll(File.ReadAllText(keyPath));
            if (keys.Count == 0)
            {
                return Usage($"'{keyPath}' holds no PEM public key.");
            }
            var (_, settings) = LocalSettings.Load(values.GetValueOrDefault("--settings"));
            configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).AddEnvironmentVariables().Build();
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException or JsonException or FormatException or System.Security.Cryptography.CryptographicException or ArgumentException)
        {
            return Usage(ex.Message);
        }
        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };
        try
        {
            await using var services = new ServiceCollection().AddSingleton(configuration).AddAgenticAzureStorage(configuration).BuildServiceProvider();
            var reader = new AuditReader(services.GetRequiredService<IAuditStore>(), services.GetRequiredService<ICheckpointStore>());
            return await command(reader, keys, cancel.Token);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            await Console.Error.WriteLineAsync("agentic: no audit trail on this hub (no audit table).");
            return 1;
        }
        catch (Exception ex) when (ex is RequestFailedException or HttpRequestException or InvalidOperationException or OptionsValidationException or AggregateException or IOException)
        {
            await Console.Error.WriteLineAsync("agentic: the audit trail can not be read: " + ex.Message);
            return 1;
        }
        catch (OperationCanceledException)
        {
            await Console.Error.WriteLineAsync("agentic: cancelled.");
            return 130;
        }
    }

    internal static string Format(AuditReport report, IReadOnlyList<AuditPublicKey> keys)
    {
        var text = new StringBuilder();
        var c = report.Checkpoints;
        text.AppendLine(CultureInfo.InvariantCulture, $"checkpoints: {(c.Valid ? "valid" : "BROKEN")}, {c.Count} read, trusting {string.Join(", ", keys.Select(k => k.KeyId))}");
        if (!c.Valid)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  at {c.Location}: {c.Problem}");
        }
        foreach (var chain in report.Chains)
        {
            if (chain is { Valid: true, Purged: { } purge })
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"{chain.Chain}: purged past its retention, {purge.Length} record(s), head {purge.Head}; by {purge.By} at {purge.At:O} (control record {purge.ControlSeq}, '{purge.RecordId}'): {purge.Reason}");
            }
            else if (chain.Valid)
            {
                var coverage = chain.Coverage is { } cov
                    ? $"signed by checkpoint {cov.Checkpoint} ({cov.KeyId}), inclusion proof {(cov.ProofValid ? "valid" : "INVALID")}, {cov.Length} of {chain.Records} record(s) covered"
                    : "not covered by any checkpoint";
                text.AppendLine(CultureInfo.InvariantCulture, $"{chain.Chain}: valid, {chain.Records} record(s), head {chain.Head}; {coverage}");
            }
            else
            {
                var b = chain.Broken!;
                text.AppendLine(CultureInfo.InvariantCulture, $"{chain.Chain}: BROKEN at position {b.Position}: {b.Reason}");
                if (b.Expected is not null || b.Found is not null)
                {
                    text.AppendLine(CultureInfo.InvariantCulture, $"  expected {b.Expected ?? "-"}");
                    text.AppendLine(CultureInfo.InvariantCulture, $"  found    {b.Found ?? "-"}");
                }
            }
        }
        text.AppendLine(CultureInfo.InvariantCulture, $"{(report.Valid ? "VALID" : "NOT VALID")}: {report.Chains.Count(r => r.Valid)} of {report.Chains.Count} chain(s) verify.");
        return text.ToString();
    }

    private static int Usage(string problem)
    {
        Console.Error.WriteLine("agentic: " + problem);
        Console.Error.WriteLine("usage: agentic audit verify (--run <id> | --all) [--public-key <file>] [--settings local.settings.json]");
        Console.Error.WriteLine("       agentic audit export [--run <id>] [--since <ISO time>] [--out <file>] [--public-key <file>] [--settings ...]");
        return 2;
    }
}
