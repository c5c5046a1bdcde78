using Agentic.Core.Agents;
using Agentic.Core.Planning;
using Agentic.Runtime.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace Agentic.Functions;

// An agent's planning drift (operators and admins), with the local host's route and answer (Agentic.Runtime.Http.DriftApi).
public sealed class DriftTriggers(IAgentCatalogProvider agents, IDriftStore drift, TimeProvider clock)
{
    [Function(nameof(AgentDrift))]
    public Task<IActionResult> AgentDrift(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "agents/{name}/drift")] HttpRequest req, string name, CancellationToken cancellationToken) =>
        SharedHttp.RunAsync(req, r => DriftApi.GetAsync(name, r, agents, drift, clock, cancellationToken));
}
