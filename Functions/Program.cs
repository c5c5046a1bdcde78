using Agentic.Azure;
using Agentic.Core;
using Agentic.Durable;
using Agentic.Functions;
using Agentic.Runtime.Http.Identity;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

var builder = FunctionsApplication.CreateBuilder(args);

// ASP.NET Core integration, as the isolated-worker template does; the run triggers bind HttpRequestData, the controls and
// policies triggers HttpRequest (they call the local host's handlers). Problems are written as the local host writes them.
builder.ConfigureFunctionsWebApplication();
builder.Services.AddProblemDetails();
// Who may call: bearer tokens, and App Service authentication's principal while that is on; without either the app
// refuses to start, naming the settings.
builder.Services.AddAgenticAuthentication(builder.Configuration, AgenticHostKind.Functions);

// The same registrations as the local host: the domain, then the storage-backed stores.
builder.Services.AddAgenticCore(builder.Configuration["Agentic:Policy:Path"]);
builder.Services.AddAgenticAzureStorage(builder.Configuration);
builder.Services.AddAgenticPolicyStore(builder.Configuration);
// The orchestrator and the activity runner, the code the local host runs on its engine.
builder.Services.AddAgenticWorkflow();
// The ledger, controls and policies tables, created ahead of the policy bootstrap and the worker if infra did not.
builder.Services.AddAgenticStorageTables();

builder.Build().Run();
