using Agentic.Azure;
using Agentic.Core.Agents;
using Agentic.Core.Policy;
using Agentic.Core.Policy.Language;
using Agentic.Core.Telemetry;
using Agentic.Runtime;
using Agentic.Runtime.Http;
using Agentic.Runtime.Http.Identity;
using Microsoft.AspNetCore.HostFiltering;

namespace Agentic.LocalHost;

/// <summary>Builds and runs the local host: settings, the runtime, the API. Both `up` and `demo` use it.</summary>
internal static class LocalHostApp
{
    public const string DefaultUrls = "http://127.0.0.1:7071";

    // Semicolon-separated, as ASP.NET Core's AllowedHosts; a port is not part of the match.
    public const string DefaultAllowedHosts = "127.0.0.1;localhost;[::1]";

    /// <summary>Builds the host; <paramref name="adjust"/> may add settings once the configured ones are known (the demo does).</summary>
    public static (WebApplication App, LocalKeys? Keys) Build(string[] args, Action<ConfigurationManager>? adjust = null)
    {
        var options = Options.Parse(args);
        var (settingsPath, values) = LocalSettings.Load(options.Get("--settings"));
        var builder = WebApplication.CreateSlimBuilder();
        // Precedence, lowest first: settings file, environment, command line.
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(values);
        builder.Configuration.AddEnvironmentVariables();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["urls"] = options.Get("--urls") ?? values.GetValueOrDefault("Agentic:Urls") ?? DefaultUrls });
        adjust?.Invoke(builder.Configuration);
        // The engine's name on the hub: this machine and port, so a restart takes back the partitions it held.
        if (string.IsNullOrEmpty(builder.Configuration["Agentic:Engine:WorkerId"]))
        {
            builder.Configuration["Agentic:Engine:WorkerId"] = WorkerId(builder.Configuration["urls"]!);
        }
        var keysPath = options.Get("--keys") ?? LocalKeys.DefaultPath;
        var keys = DemoKeys(keysPath, builder.Configuration);
        // The dev audit signing key lives beside the demo keys.
        var auditKey = LocalAuditKey.Ensure(builder.Configuration,
            string.Equals(keysPath, "none", StringComparison.OrdinalIgnoreCase) ? Path.GetDirectoryName(LocalKeys.DefaultPath)! : Path.GetDirectoryName(Path.GetFullPath(keysPath))!);
        builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Information);
        builder.Logging.AddFilter("System.Net.Http", LogLevel.Warning);
        // The engine reports every partition lease and queue poll at Information; its warnings and errors are kept.
        builder.Logging.AddFilter("DurableTask", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.DurableTask", LogLevel.Warning);
        // Every answer the handlers do not write themselves (unknown route, wrong method, refused host, failure) is
        // problem+json with a specific title and detail; the OpenAPI document is generated from the endpoints below.
        builder.Services.AddAgenticProblemDetails();
        builder.Services.AddAgenticOpenApi();
        builder.Services.AddAgenticHealth();
        // Who may call: keys and bearer tokens (Agentic:Auth); the host refuses to start with no way to identify anyone.
        builder.Services.AddAgenticAuthentication(builder.Configuration, AgenticHostKind.Local);
        // Requests for a host name this host does not serve are refused (DNS rebinding): loopback names unless configured.
        builder.Services.Configure<HostFilteringOptions>(o =>
        {
            o.AllowedHosts = (builder.Configuration["Agentic:AllowedHosts"] ?? DefaultAllowedHosts).Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            o.AllowEmptyHosts = false;
            o.IncludeFailureMessage = false;
        });
        builder.Services.AddAgenticLocalRuntime(builder.Configuration);
        // Traces and metrics (OTLP when configured, the console when asked for) and redaction of classified log values.
        builder.Services.AddAgenticTelemetry(builder.Configuration, TelemetryHost.Local);
        // The policy store decides what the gate enforces: the configured (or shipped) policy is stored and activated at start.
        builder.Services.AddAgenticPolicyStore(builder.Configuration);
        // The agents offered: the shipped ones, and those admins upload and activate, refreshed from the agent store.
        builder.Services.AddAgenticAgentStore(builder.Configuration);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));

        var app = builder.Build();
        // Outermost, so host filtering's refusals are problem+json too.
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseHostFiltering();
        app.UseAgenticRequestGuard();
        // The dashboard at /: static assets, unauthenticated like any page a browser loads before signing in.
        app.MapAgenticDashboard();
        app.MapAgenticApi();
        if (settingsPath is not null)
        {
            app.Logger.LogSettings(settingsPath);
        }
        if (auditKey is not null)
        {
            app.Logger.LogAuditKey(auditKey);
        }
        if (keys is not null)
        {
            var where = Path.GetFullPath(options.Get("--keys") ?? LocalKeys.DefaultPath);
            var who = string.Join(", ", keys.Keys.Select(k => $"{k.Principal} ({string.Join('+', k.Roles)})"));
            app.Logger.LogDemoKeys(where, who);
        }
        return (app, keys);
    }

    // The demo principals' keys (made on first use), added after any configured key; `--keys none` leaves them out.
    private static LocalKeys? DemoKeys(string path, ConfigurationManager configuration)
    {
        if (string.Equals(path, "none", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        if (string.Equals(configuration["Agentic:Environment"], "prod", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException("Demo keys are refused when Agentic:Environment is 'prod': pass '--keys none' and configure Agentic:Auth:ApiKeys or Agentic:Auth:Jwt.");
        }
        var keys = LocalKeys.LoadOrCreate(path);
        var next = configuration.GetSection(AgenticAuthOptions.Section + ":ApiKeys").GetChildren()
            .Select(c => int.TryParse(c.Key, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var i) ? i + 1 : 0)
            .DefaultIfEmpty(0).Max();
        configuration.AddInMemoryCollection(keys.Settings(next));
        return keys;
    }

    public static async Task<int> RunAsync(string[] args)
    {
        try
        {
            var (app, _) = Build(args);
            await using (app)
            {
                await app.RunAsync();
            }
            return 0;
        }
        catch (PolicyLoadException ex)
        {
            await Console.Error.WriteLineAsync("agentic: the policy does not load:");
            foreach (var diagnostic in ex.Diagnostics)
            {
                await Console.Error.WriteLineAsync("  " + diagnostic);
            }
            return 1;
        }
        catch (AgentLoadException ex)
        {
            await Console.Error.WriteLineAsync("agentic: the agents do not load:");
            foreach (var diagnostic in ex.Diagnostics)
            {
                await Console.Error.WriteLineAsync("  " + diagnostic);
            }
            return 1;
        }
        catch (Agentic.Core.Monitors.MonitorLoadException ex)
        {
            await Console.Error.WriteLineAsync("agentic: the monitors do not load:");
            foreach (var diagnostic in ex.Diagnostics)
            {
                await Console.Error.WriteLineAsync("  " + diagnostic);
            }
            return 1;
        }
        catch (Exception ex) when (ex is Microsoft.Extensions.Options.OptionsValidationException or FileNotFoundException or System.Text.Json.JsonException or InvalidOperationException or ArgumentException)
        {
            await Console.Error.WriteLineAsync("agentic: " + ex.Message);
            return 1;
        }
    }

    // "{machine}-{port}" of the first URL (a port is held by one process at a time), in the characters a worker id may use.
    private static string WorkerId(string urls)
    {
        var first = urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[0];
        var port = Uri.TryCreate(first.Replace("*", "localhost", StringComparison.Ordinal).Replace("+", "localhost", StringComparison.Ordinal), UriKind.Absolute, out var uri) ? uri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture) : "0";
        var machine = new string([.. Environment.MachineName.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' ? c : '-')]);
        return $"{machine[..Math.Min(machine.Length, 60)]}-{port}";
    }
}

/// <summary>`--name value` pairs.</summary>
internal sealed class Options
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public static Options Parse(string[] args)
    {
        var options = new Options();
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                throw new ArgumentException($"Unexpected argument '{args[i]}': options are '--name value' pairs.");
            }
            options._values[args[i]] = args[++i];
        }
        return options;
    }

    public string? Get(string name) => _values.GetValueOrDefault(name);
}
