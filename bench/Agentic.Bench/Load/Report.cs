using System.Diagnostics;
using System.Globalization;

namespace Agentic.Bench.Load;

/// <summary>How the driver prints what it measured.</summary>
internal static class Report
{
    public static void Say(string line) => Console.WriteLine(line);

    public static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// Who issues a request: <c>engine</c> (the Durable Task engine's tables, queues and blobs; its history commits are
    /// the only table transactions while runs go), <c>governance</c> (the product's ledger table, which holds decisions,
    /// approvals and the idempotency ledger, its controls and policies tables), <c>listener</c> (the local host's
    /// <c>agent-runs</c> queue), <c>tools</c> (perceive and
    /// tool calls to the sample fleet: HTTP, not storage).
    /// </summary>
    public static string Owner(string side, RequestKind kind) => (kind.Service, kind.Resource) switch
    {
        ("fleet" or "other", _) => "tools",
        ("table", "ledger" or "controls" or "policies") => "governance",
        ("queue", "agent-runs" or "agent-runs-poison") => "listener",
        ("table", "Tables") => "setup",
        _ => "engine",
    };

    /// <summary>Storage requests only (the fleet's are tool calls).</summary>
    public static long StorageCount(IReadOnlyDictionary<RequestKind, Tally> requests) =>
        requests.Where(r => r.Key.Service is not ("fleet" or "other")).Sum(r => r.Value.Count);

    /// <summary>The requests as a table: by owner, resource and operation, with the count, the count per unit and the mean latency.</summary>
    public static void Requests(string side, IReadOnlyDictionary<RequestKind, Tally> requests, double units, string unit)
    {
        var storage = StorageCount(requests);
        var fleet = requests.Where(r => r.Key.Service is "fleet" or "other").Sum(r => r.Value.Count);
        Say(F($"   requests on the wire: {storage} to storage = {storage / units:0.00} per {unit}; {fleet} to the fleet = {fleet / units:0.00} per {unit}"));
        Say(F($"     {"owner",-11}{"service",-7} {"resource",-18} {"method",-6} {"operation",-44} {"count",8} {"per " + unit,9} {"mean ms",8}"));
        foreach (var owner in requests.GroupBy(r => Owner(side, r.Key)).OrderBy(g => OwnerOrder(g.Key)))
        {
            foreach (var (kind, tally) in owner.OrderBy(r => r.Key.Service, StringComparer.Ordinal).ThenBy(r => r.Key.Resource, StringComparer.Ordinal).ThenBy(r => r.Key.Operation, StringComparer.Ordinal))
            {
                Say(F($"     {owner.Key,-11}{kind.Service,-7} {kind.Resource,-18} {kind.Method,-6} {kind.Operation,-44} {tally.Count,8} {tally.Count / units,9:0.00} {tally.Seconds * 1000 / tally.Count,8:0.0}"));
            }
            var count = owner.Sum(r => r.Value.Count);
            Say(F($"     {owner.Key,-11}{"",-7} {"",-18} {"",-6} {"subtotal",-44} {count,8} {count / units,9:0.00}"));
        }
    }

    private static int OwnerOrder(string owner) => owner switch
    {
        "engine" => 0,
        "governance" => 1,
        "listener" => 2,
        "setup" => 3,
        _ => 4,
    };

    /// <summary>The one-minute load average (other processes compete with Azurite for the cores).</summary>
    public static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}

/// <summary>CPU time and allocations of this process over a timed part.</summary>
internal sealed record ProcessCost(TimeSpan Cpu, long Allocated, int Collections)
{
    public static ProcessCost Start() => new(Process.GetCurrentProcess().TotalProcessorTime, GC.GetTotalAllocatedBytes(), GC.CollectionCount(0));

    public ProcessCost Stop() => new(Process.GetCurrentProcess().TotalProcessorTime - Cpu, GC.GetTotalAllocatedBytes() - Allocated, GC.CollectionCount(0) - Collections);
}

/// <summary>CPU time and resident memory of another process (Azurite), from /proc.</summary>
internal sealed class OtherProcess
{
    private readonly int _pid;

    private OtherProcess(int pid) => _pid = pid;

    /// <summary>The Azurite whose queue service listens on the port of <paramref name="connectionString"/>, if /proc shows it.</summary>
    public static OtherProcess? Azurite(string connectionString)
    {
        var port = System.Text.RegularExpressions.Regex.Match(connectionString, @"QueueEndpoint=https?://[^:/]+:(\d+)").Groups[1].Value;
        if (!Directory.Exists("/proc") || port.Length == 0)
        {
            return null;
        }
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }
            try
            {
                var args = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0');
                var at = Array.IndexOf(args, "--queuePort");
                if (args.Any(a => a.EndsWith("azurite.js", StringComparison.Ordinal)) && at >= 0 && at + 1 < args.Length && args[at + 1] == port)
                {
                    return new OtherProcess(pid);
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
        return null;
    }

    /// <summary>User + system CPU time so far.</summary>
    public TimeSpan Cpu()
    {
        // Fields 14 and 15 of /proc/{pid}/stat (after the parenthesized name), in clock ticks (100 per second on Linux).
        var stat = File.ReadAllText($"/proc/{_pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds(ticks / 100.0);
    }

    /// <summary>Resident set size in bytes.</summary>
    public long Resident()
    {
        var line = File.ReadLines($"/proc/{_pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }
}
