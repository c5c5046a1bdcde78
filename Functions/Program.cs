using Agentic.Azure;
using Agentic.Core;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;

var builder = FunctionsApplication.CreateBuilder(args);

// ASP.NET Core integration, as the isolated-worker template does; the HTTP triggers bind HttpRequestData.
builder.ConfigureFunctionsWebApplication();

// The same registrations as the local host: the domain, then the storage-backed stores.
builder.Services.AddAgenticCore(builder.Configuration["Agentic:Policy:Path"]);
builder.Services.AddAgenticAzureStorage(builder.Configuration);
builder.Services.AddAgenticPolicyStore(builder.Configuration);

builder.Build().Run();
