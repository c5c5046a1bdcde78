using Agentic.Azure;
using Agentic.Core;
using Agentic.Core.Telemetry;
using Agentic.Durable;
using Agentic.Functions;
using Agentic.Runtime.Http;
using Agentic.Runtime.Http.Identity;
using Azure.Monitor.OpenTelemetry.Exporter;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Azure.Functions.Worker.OpenTelemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;

var builder = FunctionsApplication.CreateBuilder(args);

// ASP.NET Core integration, as the isolated-worker template does; the run triggers bind HttpRequestData, the controls and
// policies triggers HttpRequest (they call the local host's handlers). Problems are written as the local host writes them.
builder.ConfigureFunctionsWebApplication();
builder.Services.AddAgenticProblemDetails();
// GET /api/health checks what the gate and the engine need; GET /api/openapi.json is the document of the shared
// endpoints, generated once in an application built for it (the triggers are not ASP.NET Core endpoints).
builder.Services.AddAgenticHealth();
builder.Services.AddSingleton(AgenticApiDocument.Detached());
// Who may call: bearer tokens, and App Service authentication's principal while that is on; without either the app
// refuses to start, naming the settings.
builder.Services.AddAgenticAuthentication(builder.Configuration, AgenticHostKind.Functions);

// Traces, metrics and redacted logs: the worker's defaults (its spans, the host's trace context, the resource), OTLP when
// an endpoint is set, and Azure Monitor when App Insights is (host.json's telemetryMode OpenTelemetry makes the host do
// the same, so one trace holds the trigger and the run).
builder.Services.AddAgenticTelemetry(builder.Configuration, TelemetryHost.Functions, otel =>
{
    otel.UseFunctionsWorkerDefaults();
    if (builder.Configuration["APPLICATIONINSIGHTS_CONNECTION_STRING"] is { Length: > 0 } appInsights)
    {
        otel.UseAzureMonitorExporter(o => AzureMonitor.Configure(o, builder.Configuration, appInsights));
    }
});

// The same registrations as the local host: the domain, then the storage-backed stores.
builder.Services.AddAgenticCore(builder.Configuration["Agentic:Policy:Path"]);
builder.Services.AddAgenticAzureStorage(builder.Configuration);
builder.Services.AddAgenticPolicyStore(builder.Configuration);
// The agents offered: the shipped ones, and those admins upload and activate, refreshed from the agent store.
builder.Services.AddAgenticAgentStore(builder.Configuration);
// The orchestrator and the activity runner, the code the local host runs on its engine.
builder.Services.AddAgenticWorkflow();
// The ledger, controls, policies and agents tables, created ahead of the policy bootstrap and the worker if infra did not.
builder.Services.AddAgenticStorageTables();

builder.Build().Run();
