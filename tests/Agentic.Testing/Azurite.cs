using Xunit;

namespace Agentic.Testing;

/// <summary>
/// A real Azurite (blob, queue, table) on free loopback ports with its data in a temporary folder.
/// It can be stopped and started again on the same ports and data, to simulate a storage outage.
/// </summary>
/// <param name="inMemory">
/// Keep everything in memory (<c>--inMemoryPersistence</c>) instead of the data folder: nothing survives a stop. On disk,
/// Azurite's LokiJS stores write their whole database to a file every 5 s while anything changed, which blocks the
/// emulator for longer the more it holds; the idle bench measures with and without that.
/// </param>
public sealed class Azurite(bool inMemory = false) : IAsyncDisposable
{
    private const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    private readonly string _data = Directory.CreateTempSubdirectory("agentic-azurite-").FullName;
    private readonly int _blob = Ports.Free();
    private readonly int _queue = Ports.Free();
    private readonly int _table = Ports.Free();
    private static readonly string[] Services = ["Blob", "Queue", "Table"];
    private ChildProcess? _process;

    /// <summary>A connection string for this instance.</summary>
    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AccountKey};" +
        $"BlobEndpoint=http://127.0.0.1:{_blob}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{_queue}/devstoreaccount1;TableEndpoint=http://127.0.0.1:{_table}/devstoreaccount1;";

    /// <summary>Whether it is running.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Starts Azurite from the project's pinned install (tools/node_modules).</summary>
    public async Task StartAsync()
    {
        var bin = Path.Combine(Repo.Root, "tools", "node_modules", "azurite", "dist", "src", "azurite.js");
        if (!File.Exists(bin))
        {
            throw new FileNotFoundException($"Azurite is not installed at {bin}: run 'npm ci --prefix tools' (./agentic test does).");
        }
        _process = ChildProcess.Start("azurite", "node",
        [
            // Azurite refuses a --location with --inMemoryPersistence.
            bin, "--silent", .. (inMemory ? ["--inMemoryPersistence"] : new[] { "--location", _data }), "--skipApiVersionCheck", "--loose", "--disableProductStyleUrl",
            "--blobHost", "127.0.0.1", "--blobPort", _blob.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--queueHost", "127.0.0.1", "--queuePort", _queue.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--tableHost", "127.0.0.1", "--tablePort", _table.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ]);
        foreach (var port in new[] { _blob, _queue, _table })
        {
            await _process.WaitForPortAsync(port, TimeSpan.FromSeconds(30));
        }
    }

    /// <summary>
    /// Takes storage away for an outage test without losing acknowledged writes. A SIGKILL would: Azurite saves its
    /// metadata (tables, queues, messages) only every few seconds. So it is asked to stop (SIGTERM), which closes and
    /// saves its services; its process lingers while clients keep connecting, so once every service reports closed
    /// it is ended. <see cref="StartAsync"/> brings it back on the same ports and data.
    /// </summary>
    public async Task StopGracefullyAsync()
    {
        if (_process is null)
        {
            return;
        }
        var process = _process;
        var stopping = process.StopAsync(TimeSpan.FromSeconds(30));
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        bool Closed() => Services.All(s => process.Lines.Any(l => l.Contains($"Azurite {s} service successfully closed", StringComparison.Ordinal)));
        while (!Closed() && !process.HasExited && DateTime.UtcNow < until)
        {
            await Task.Delay(50);
        }
        if (!Closed() && !process.HasExited)
        {
            throw new TimeoutException($"Azurite did not close its services within 15 s of SIGTERM:\n{process.Tail()}");
        }
        await StopAsync();
        await stopping;
    }

    /// <summary>Stops Azurite abruptly (its data folder stays); the last seconds of writes may be lost.</summary>
    public async Task StopAsync()
    {
        if (_process is not null)
        {
            await _process.KillAsync();
            await _process.DisposeAsync();
            _process = null;
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(_data, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>One Azurite for a whole test assembly; tests isolate themselves with their own hub names.</summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    /// <summary>The instance.</summary>
    public Azurite Azurite { get; } = new();

    /// <inheritdoc />
    public ValueTask InitializeAsync() => new(Azurite.StartAsync());

    /// <inheritdoc />
    public ValueTask DisposeAsync() => Azurite.DisposeAsync();
}

/// <summary>Unique hub names so tests sharing one Azurite never see each other's tables and queues.</summary>
public static class Hubs
{
    private static int _next;

    /// <summary>A fresh hub name (lowercase letters and digits).</summary>
    public static string New(string prefix = "t") =>
        (prefix + Environment.ProcessId.ToString("x", System.Globalization.CultureInfo.InvariantCulture) + Interlocked.Increment(ref _next).ToString(System.Globalization.CultureInfo.InvariantCulture) + Guid.NewGuid().ToString("N")[..6]).ToLowerInvariant();
}
