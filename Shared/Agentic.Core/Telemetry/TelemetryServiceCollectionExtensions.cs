using Microsoft.Extensions.Compliance.Redaction;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Agentic.Core.Telemetry;

/// <summary>Which host calls <see cref="TelemetryServiceCollectionExtensions.AddAgenticTelemetry"/>: it decides the fallback exporter.</summary>
public enum TelemetryHost
{
    /// <summary>The <c>agentic</c> local host: OTLP when configured, else the console exporter when asked for.</summary>
    Local,
    /// <summary>The Functions app: OTLP when configured; the app adds Azure Monitor itself.</summary>
    Functions,
}

/// <summary>OpenTelemetry and log redaction for both hosts.</summary>
public static class TelemetryServiceCollectionExtensions
{
    /// <summary>The OTLP endpoint setting of the product; the standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> works too.</summary>
    public const string OtlpEndpointSetting = "Agentic:Telemetry:OtlpEndpoint";

    /// <summary>Whether the local host writes spans and metrics to the console when no OTLP endpoint is configured.</summary>
    public const string ConsoleSetting = "Agentic:Telemetry:Console";

    /// <summary>
    /// Adds the product's traces and metrics (source and meter <see cref="AgenticTelemetry.Name"/>) to OpenTelemetry with
    /// the exporters the configuration asks for, and redaction of classified log parameters (<see cref="AgenticTaxonomy"/>).
    /// <list type="bullet">
    /// <item>OTLP traces, metrics and logs when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> or <c>Agentic:Telemetry:OtlpEndpoint</c> is
    /// set (the other <c>OTEL_EXPORTER_OTLP_*</c> variables apply as the SDK reads them);</item>
    /// <item>otherwise, in the local host, the console exporter when <c>Agentic:Telemetry:Console</c> is true.</item>
    /// </list>
    /// <paramref name="configure"/> adds more (the Functions app's Azure Monitor exporter, a test's in-memory exporter).
    /// </summary>
    public static OpenTelemetryBuilder AddAgenticTelemetry(this IServiceCollection services, IConfiguration configuration, TelemetryHost host, Action<OpenTelemetryBuilder>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        AddLogRedaction(services);
        var otlp = OtlpEndpoint(configuration);
        // Off by default: the console exporter writes a block of a dozen lines per span and per metric stream every
        // minute, which would bury the host's one-line log (and the demo's story in the README) under ~20 blocks a run.
        // The spans are there for whoever asks: Agentic__Telemetry__Console=true, or an OTLP endpoint.
        var console = otlp is null && host == TelemetryHost.Local && configuration.GetValue<bool>(ConsoleSetting);
        var serviceName = configuration["OTEL_SERVICE_NAME"] ?? (host == TelemetryHost.Local ? "agentic" : "agentic-functions");
        var builder = services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(serviceName, serviceVersion: typeof(AgenticTelemetry).Assembly.GetName().Version?.ToString()))
            .WithTracing(t =>
            {
                t.AddSource(AgenticTelemetry.Name);
                if (otlp is { } traceOtlp)
                {
                    t.AddOtlpExporter(o => Point(o, traceOtlp));
                }
                if (console)
                {
                    t.AddConsoleExporter();
                }
            })
            .WithMetrics(m =>
            {
                m.AddMeter(AgenticTelemetry.Name);
                if (otlp is { } metricOtlp)
                {
                    m.AddOtlpExporter(o => Point(o, metricOtlp));
                }
                if (console)
                {
                    m.AddConsoleExporter();
                }
            });
        if (otlp is { } logOtlp)
        {
            // Logs go to the collector too (redacted like every other log provider's); locally the console logger has them.
            builder.WithLogging(l => l.AddOtlpExporter(o => Point(o, logOtlp)));
        }
        configure?.Invoke(builder);
        return builder;
    }

    // Every log provider gets the parameters marked [SecretData] through the product's redactor; unclassified parameters
    // are logged as they are. (No log line carries tool arguments, where a contract's sensitive fields live.)
    private static void AddLogRedaction(IServiceCollection services)
    {
        services.AddRedaction(r =>
        {
            r.SetRedactor<SecretLogRedactor>(new Microsoft.Extensions.Compliance.Classification.DataClassificationSet(AgenticTaxonomy.Secret));
        });
        services.AddLogging(l => l.EnableRedaction());
    }

    // The product's setting names the endpoint; without it the SDK reads OTEL_EXPORTER_OTLP_ENDPOINT (and the protocol,
    // headers and per-signal paths) itself, which it does better than a copy here would.
    private static void Point(OpenTelemetry.Exporter.OtlpExporterOptions options, (Uri? Own, bool Enabled) otlp)
    {
        if (otlp.Own is { } endpoint)
        {
            options.Endpoint = endpoint;
        }
    }

    private static (Uri? Own, bool Enabled)? OtlpEndpoint(IConfiguration configuration)
    {
        var own = configuration[OtlpEndpointSetting];
        if (string.IsNullOrWhiteSpace(own))
        {
            return string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]) ? null : (null, true);
        }
        return Uri.TryCreate(own, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            ? (uri, true)
            : throw new InvalidOperationException($"{OtlpEndpointSetting} '{own}' is not an absolute http or https URI.");
    }
}
