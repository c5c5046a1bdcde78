using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;

namespace Agentic.Testing;

/// <summary>The sample fleet as a real process on a free loopback port.</summary>
public sealed class SampleFleet : IAsyncDisposable
{
    private readonly ChildProcess _process;

    private SampleFleet(ChildProcess process, int port)
    {
        _process = process;
        BaseUri = new Uri($"http://127.0.0.1:{port}");
    }

    /// <summary>Where it listens.</summary>
    public Uri BaseUri { get; }

    /// <summary>An HTTP client for its admin routes.</summary>
    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(10) };

    /// <summary>The target URI of one service of the fleet.</summary>
    public string Target(string service) => $"{BaseUri}services/{service}";

    /// <summary>The target URI of one contract of the fleet's contract register.</summary>
    public string ContractTarget(string contract) => $"{BaseUri}contracts/{contract}";

    /// <summary>
    /// The run target rule that allows the fleet's services and the contracts of its register (its loopback address and
    /// port, paths under <c>/services/</c> and <c>/contracts/</c>, private addresses allowed), as settings with <paramref name="separator"/> between sections
    /// (<c>":"</c> for configuration, <c>"__"</c> for environment variables), at rule <paramref name="index"/>.
    /// </summary>
    public IReadOnlyDictionary<string, string?> TargetSettings(string separator = ":", int index = 0)
    {
        var rule = string.Join(separator, "Agentic", "Targets", "Allow", index.ToString(CultureInfo.InvariantCulture));
        return new Dictionary<string, string?>
        {
            [rule + separator + "Scheme"] = "http",
            [rule + separator + "Host"] = BaseUri.Host,
            [rule + separator + "Port"] = BaseUri.Port.ToString(CultureInfo.InvariantCulture),
            [rule + separator + "Paths" + separator + "0"] = "/services/**",
            [rule + separator + "Paths" + separator + "1"] = "/contracts/*",
            [rule + separator + "AllowPrivate"] = "true",
        };
    }

    /// <summary>Starts the fleet.</summary>
    public static async Task<SampleFleet> StartAsync()
    {
        var port = Ports.Free();
        var process = ChildProcess.Start("sample-fleet", "dotnet", [Repo.Output("Agentic.SampleService", "Agentic.SampleService.dll"), "--urls", $"http://127.0.0.1:{port}"]);
        await process.WaitForPortAsync(port, TimeSpan.FromSeconds(30));
        return new SampleFleet(process, port);
    }

    /// <summary>Makes a service report itself degraded.</summary>
    public async Task DegradeAsync(string service) =>
        (await Http.PostAsync(new Uri(BaseUri, $"admin/services/{service}/degrade"), null)).EnsureSuccessStatusCode();

    /// <summary>Makes the next <paramref name="count"/> side-effect calls answer 503.</summary>
    public async Task FailNextAsync(int count) =>
        (await Http.PostAsync(new Uri(BaseUri, "admin/fail-next?count=" + count.ToString(CultureInfo.InvariantCulture)), null)).EnsureSuccessStatusCode();

    /// <summary>
    /// Makes the next side-effect call answer <paramref name="delay"/> late, after it was applied: a call in flight whose
    /// caller can be stopped or killed before it hears back.
    /// </summary>
    public async Task DelayNextAsync(TimeSpan delay) =>
        (await Http.PostAsync(new Uri(BaseUri, "admin/delay-next?ms=" + ((int)delay.TotalMilliseconds).ToString(CultureInfo.InvariantCulture)), null)).EnsureSuccessStatusCode();

    /// <summary>Every side effect received: key (run/step), operation, times applied, times requested.</summary>
    public async Task<IReadOnlyList<SideEffect>> EffectsAsync()
    {
        var body = await Http.GetFromJsonAsync<JsonElement>(new Uri(BaseUri, "admin/effects"));
        return [.. body.GetProperty("effects").EnumerateArray().Select(e => new SideEffect(
            e.GetProperty("key").GetString()!, e.GetProperty("operation").GetString()!, e.GetProperty("service").GetString()!,
            e.GetProperty("applied").GetInt32(), e.GetProperty("requests").GetInt32()))];
    }

    /// <summary>Every request the fleet got outside its admin routes, reads included, counted by method and path (<c>PUT /contracts/c-1/record</c>).</summary>
    public async Task<IReadOnlyDictionary<string, int>> CallsAsync()
    {
        var body = await Http.GetFromJsonAsync<JsonElement>(new Uri(BaseUri, "admin/calls"));
        return body.GetProperty("calls").EnumerateArray().ToDictionary(c => c.GetProperty("call").GetString()!, c => c.GetProperty("count").GetInt32(), StringComparer.Ordinal);
    }

    /// <summary>The contract register's record of <paramref name="contract"/>: status (<c>new</c> until recorded), version, risk score and band, fields.</summary>
    public Task<JsonElement> ContractAsync(string contract) => Http.GetFromJsonAsync<JsonElement>(new Uri(ContractTarget(contract) + "/record"));

    /// <summary>The contract register's review queue: the high-risk contracts it sent to a reviewer.</summary>
    public async Task<IReadOnlyList<JsonElement>> ReviewsAsync()
    {
        var body = await Http.GetFromJsonAsync<JsonElement>(new Uri(BaseUri, "contracts/reviews"));
        return [.. body.GetProperty("reviews").EnumerateArray().Select(r => r.Clone())];
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _process.DisposeAsync();
    }
}

/// <summary>One side effect as the sample fleet counted it.</summary>
public sealed record SideEffect(string Key, string Operation, string Service, int Applied, int Requests);

/// <summary>
/// The real `agentic up` process on a free port, against a given storage and hub. It can be killed
/// (SIGKILL), stopped (SIGTERM) and started again with the same settings.
/// </summary>
public sealed class AgenticHost : IAsyncDisposable
{
    private readonly Dictionary<string, string?> _environment;
    private ChildProcess? _process;

    /// <summary>
    /// A host definition; call <see cref="StartAsync"/> to run it. A dev deployment; runs may target <paramref name="fleet"/>'s
    /// services when it is given.
    /// </summary>
    public AgenticHost(string connectionString, string hub, IReadOnlyDictionary<string, string?>? settings = null, SampleFleet? fleet = null)
    {
        Port = Ports.Free();
        BaseUri = new Uri($"http://127.0.0.1:{Port}");
        _environment = new Dictionary<string, string?>
        {
            ["AgenticStorage"] = connectionString,
            ["Agentic__HubName"] = hub,
            ["Agentic__Environment"] = "dev",
            ["Agentic__Engine__PartitionCount"] = "2",
            ["Agentic__Engine__MaxPollMilliseconds"] = "200",
            ["Agentic__Engine__LeaseSeconds"] = "15",
            ["Agentic__Engine__ControlVisibilitySeconds"] = "30",
            ["Agentic__Engine__WorkItemVisibilitySeconds"] = "20",
            ["Logging__LogLevel__Default"] = "Information",
        };
        foreach (var (key, value) in TestIdentities.HostSettings())
        {
            _environment[key] = value;
        }
        foreach (var (key, value) in (fleet?.TargetSettings("__") ?? new Dictionary<string, string?>()).Concat(settings ?? new Dictionary<string, string?>()))
        {
            _environment[key] = value;
        }
    }

    /// <summary>The port it listens on.</summary>
    public int Port { get; }

    /// <summary>Its base URI.</summary>
    public Uri BaseUri { get; }

    /// <summary>The running process, if any.</summary>
    public ChildProcess? Process => _process;

    /// <summary>How many times it was started.</summary>
    public int Starts { get; private set; }

    /// <summary>Starts the host and waits until it accepts HTTP connections.</summary>
    public async Task StartAsync()
    {
        if (_process is { HasExited: false })
        {
            throw new InvalidOperationException("The host is already running.");
        }
        if (_process is not null)
        {
            await _process.DisposeAsync();
        }
        // An empty settings file keeps the repository's local.settings.json out of the test.
        var settings = Path.Combine(Path.GetTempPath(), $"agentic-empty-{Environment.ProcessId}-{Port}.settings.json");
        await File.WriteAllTextAsync(settings, "{\"Values\":{}}");
        _process = ChildProcess.Start($"agentic#{++Starts}", "dotnet",
            [Repo.Output("Agentic.LocalHost", "agentic.dll"), "up", "--urls", BaseUri.ToString().TrimEnd('/'), "--settings", settings, "--keys", "none"], _environment);
        await _process.WaitForPortAsync(Port, TimeSpan.FromSeconds(120));
        await WaitReadyAsync(TimeSpan.FromSeconds(120));
    }

    // Listening is not ready: the host answers /api/health 200 once its runner has reached storage and takes work.
    private async Task WaitReadyAsync(TimeSpan timeout)
    {
        using var http = new HttpClient { BaseAddress = BaseUri, Timeout = TimeSpan.FromSeconds(10) };
        var until = DateTime.UtcNow + timeout;
        var last = "no answer";
        while (DateTime.UtcNow < until)
        {
            if (_process is not { HasExited: false })
            {
                throw new InvalidOperationException($"The host exited before it was ready:\n{_process?.Tail()}");
            }
            try
            {
                using var response = await http.GetAsync(new Uri("/api/health", UriKind.Relative));
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
                last = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                last = ex.Message;
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"The host was not ready within {timeout.TotalSeconds} s (last: {last}):\n{_process?.Tail()}");
    }

    /// <summary>Kills the host at once (SIGKILL).</summary>
    public Task KillAsync() => _process?.KillAsync() ?? Task.CompletedTask;

    /// <summary>Stops the host gracefully (SIGTERM); returns whether it stopped in time.</summary>
    public Task<bool> StopAsync(TimeSpan timeout) => _process?.StopAsync(timeout) ?? Task.FromResult(true);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
        {
            await _process.DisposeAsync();
        }
    }
}
