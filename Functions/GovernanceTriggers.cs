using Agentic.Core.Agents;
using Agentic.Core.Agents.Lifecycle;
using Agentic.Core.Governance;
using Agentic.Core.Policy.Lifecycle;
using Agentic.Core.Tools;
using Agentic.Core.Tools.Mcp;
using Agentic.Runtime.Http;
using Agentic.Runtime.Http.Identity;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Agentic.Functions;

// Kill switches and quarantines (admin only), with the local host's routes and answers: every trigger hands the request
// to the handler the local host maps (Agentic.Runtime.Http.ControlsApi), so the rules, bodies and problems are one code.
public sealed class ControlTriggers(IControlStore store, IAgentCatalogProvider agents, ToolRegistry tools)
{
    [Function(nameof(ListControls))]
    public Task<IActionResult> ListControls(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "controls")] HttpRequest req, CancellationToken cancellationToken) =>
        SharedHttp.RunAsync(req, r => ControlsApi.ListAsync(r, store, cancellationToken));

    [Function(nameof(ControlHistory))]
    public Task<IActionResult> ControlHistory(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "controls/history")] HttpRequest req, CancellationToken cancellationToken) =>
        SharedHttp.RunAsync(req, r => ControlsApi.HistoryAsync(r, store, cancellationToken));

    [Function(nameof(EngageKillSwitch))]
    public Task<IActionResult> EngageKillSwitch(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "controls/kill-switch")] HttpRequest req, CancellationToken cancellationToken) =>
        SharedHttp.RunAsync(req, r => ControlsApi.EngageKillSwitchAsync(r, store, agents, tools, cancellationToken));

    [Function(nameof(ReleaseKillSwitch))]
    public Task<IActionResult> ReleaseKillSwitch(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "controls/kill-switch/release")] HttpRequest req, CancellationToken cancellationToken) =>
        SharedHttp.RunAsync(req, r => ControlsApi.ReleaseKillSwitchAsync(r, store, agents, tools, cancellationToken));

    [Function(nameof(QuarantineTool))]
    public Task<IActionResult> QuarantineTool(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "controls/quarantine")] HttpRequest req, CancellationToken cancellationToken) =>
        SharedHttp.RunAsync(req, r => ControlsApi.QuarantineAsync(r, store, agents, tools, cancellationToken));

    [Function(nameof(ReleaseQuarantine))]
    public Task<IActionResult> ReleaseQuarantine(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "controls/quarantine/release")] HttpRequest req, CancellationToken cancellationToken) =>
        SharedHttp.RunAsync(req, r => ControlsApi.ReleaseQuarantineAsync(r, store, agents, tools, cancellationToken));
}

// MCP tools and their pins (admin only), with the local host's routes and answers (Agentic.Runtime.Http.McpApi).
public sealed class McpTriggers(McpGovernance mcp, ToolRegistry tools)
{
    [Function(nameof(ListMcpTools))]
    public Task<IActionResult> ListMcpTools(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "mcp/tools")] HttpRequest req, CancellationToken cancellationToken) =>
        SharedHttp.RunAsync(req, r => McpApi.ToolsAsync(r, mcp, tools, cancellationToken));

    [Function(nameof(PinMcpTool))]
    public Task<IActionResult> PinMcpTool(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "mcp/pins")] HttpRequest req, CancellationToken cancellationToken) =>
        SharedHttp.RunAsync(req, r => McpApi.PinAsync(r, mcp, tools, cancellationToken));
}

// The policy lifecycle, with the local host's routes and answers (Agentic.Runtime.Http.PoliciesApi): reading needs an
// identified caller, every change and the simulation the admin role.
public sealed class PolicyTriggers(IPolicyStore store, IDecisionLog log)
{
    [Function(nameof(GetActivePolicies))]
    public Task<IActionResult> GetActivePolicies(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "policies")] HttpRequest req, CancellationToken cancellationToken) =>
        SharedHttp.RunAsync(req, r => PoliciesApi.ActiveAsync(r, store, cancellationToken));

    [Function(nameof(ListPolicyVersions))]
    public Task<IActionResult> ListPolicyVersions(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "policies/versions")] HttpRequest req, CancellationToken cancellationToken) =>
        SharedHttp.RunAsync(req, r => PoliciesApi.VersionsAsync(r, store, cancellationToken));

    [Function(nameof(PolicyHistory))]
    public Task<IActionResult> PolicyHistory(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "policies/history")] HttpRequest req, CancellationToken cancellationToken) =>
        SharedHttp.RunAsync(req, r => PoliciesApi.HistoryAsync(r, store, cancellationToken));

    [Function(nameof(GetPolicyVersion))]
    public Task<IActionResult> GetPolicyVersion(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "policies/{id}/{version}")] HttpRequest req, string id, string version, CancellationToken cancellationToken) =>
        SharedHttp.RunAsync(req, r => PoliciesApi.GetAsync(id, version, r, store, cancellationToken));

    [Function(nameof(SavePolicy))]
    public Task<IActionResult> SavePolicy(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "policies")] HttpRequest req, CancellationToken cancellationToken) =>
        SharedHttp.RunAsync(req, r => PoliciesApi.SaveAsync(r, store, cancellationToken));

    [Function(nameof(ActivatePolicy))]
    public Task<IActionResult> ActivatePolicy(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "policies/{id}/{version}/activate")] HttpRequest req, string id, string version, CancellationToken cancellationToken) =>
        SharedHttp.RunAsync(req, r => PoliciesApi.ActivateAsync(id, version, r, store, cancellationToken));

    [Function(nameof(ClearShadowPolicy))]
    public Task<IActionResult> ClearShadowPolicy(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "policies/shadow/clear")] HttpRequest req, CancellationToken cancellationToken) =>
        SharedHttp.RunAsync(req, r => PoliciesApi.ClearShadowAsync(r, store, cancellationToken));

    [Function(nameof(RollbackPolicy))]
    public Task<IActionResult> RollbackPolicy(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "policies/rollback")] HttpRequest req, CancellationToken cancellationToken) =>
        SharedHttp.RunAsync(req, r => PoliciesApi.RollbackAsync(r, store, cancellationToken));

    [Function(nameof(SimulatePolicy))]
    public Task<IActionResult> SimulatePolicy(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "policies/simulate")] HttpRequest req, CancellationToken cancellationToken) =>
        SharedHttp.RunAsync(req, r => PoliciesApi.SimulateAsync(r, log, cancellationToken));
}

// The agents offered and their lifecycle, with the local host's routes and answers (Agentic.Runtime.Http.AgentsApi): reading
// needs an identified caller, every change the admin role.
public sealed class AgentTriggers(IAgentStore store, IAgentCatalogProvider agents, AgentCatalog shipped, AgentChecks checks)
{
    [Function(nameof(ListAgents))]
    public Task<IActionResult> ListAgents(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "agents")] HttpRequest req, CancellationToken cancellationToken) =>
        SharedHttp.RunAsync(req, r => AgentsApi.ListAsync(r, agents, cancellationToken));

    [Function(nameof(ListAgentVersions))]
    public Task<IActionResult> ListAgentVersions(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "agents/{name}/versions")] HttpRequest req, string name, CancellationToken cancellationToken) =>
        SharedHttp.RunAsync(req, r => AgentsApi.VersionsAsync(name, r, store, agents, cancellationToken));

    [Function(nameof(AgentHistory))]
    public Task<IActionResult> AgentHistory(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "agents/{name}/history")] HttpRequest req, string name, CancellationToken cancellationToken) =>
        SharedHttp.RunAsync(req, r => AgentsApi.HistoryAsync(name, r, store, cancellationToken));

    [Function(nameof(SaveAgent))]
    public Task<IActionResult> SaveAgent(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "agents")] HttpRequest req, CancellationToken cancellationToken) =>
        SharedHttp.RunAsync(req, r => AgentsApi.SaveAsync(r, store, shipped, checks, cancellationToken));

    [Function(nameof(ActivateAgent))]
    public Task<IActionResult> ActivateAgent(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "agents/{name}/{version}/activate")] HttpRequest req, string name, string version, CancellationToken cancellationToken) =>
        SharedHttp.RunAsync(req, r => AgentsApi.ActivateAsync(name, version, r, store, shipped, checks, cancellationToken));

    [Function(nameof(DeactivateAgent))]
    public Task<IActionResult> DeactivateAgent(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "agents/{name}/deactivate")] HttpRequest req, string name, CancellationToken cancellationToken) =>
        SharedHttp.RunAsync(req, r => AgentsApi.DeactivateAsync(name, r, store, shipped, cancellationToken));
}

// What every HTTP trigger does around its handler, written once.
//
// Identity: the request passes RequestGuard first, as on the local host: the caller is whoever a bearer token or, while
// App Service authentication is on, the platform's principal document names (by object id); nothing a client says
// about itself in X-Agentic-* or X-MS-CLIENT-PRINCIPAL-NAME headers is read. Unauthenticated callers get 401, and the
// handler never runs.
//
// Result: the handlers answer an IResult. The worker's ASP.NET Core integration executes a returned IActionResult in every
// version (only later ones also execute an IResult), so the trigger returns an IActionResult that executes the IResult
// against the same HttpContext: status, headers (ETag, Location) and body exactly as the local host writes them.
internal static class SharedHttp
{
    public static async Task<IActionResult> RunAsync(HttpRequest request, Func<HttpRequest, Task<IResult>> handler)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(handler);
        try
        {
            return new ExecutedResult(await RequestGuard.CheckAsync(request.HttpContext) ?? await handler(request));
        }
        catch (Exception ex) when (!request.HttpContext.RequestAborted.IsCancellationRequested)
        {
            // As the local host's exception handler answers: problem+json, the failure logged, nothing of it in the answer.
            request.HttpContext.RequestServices.GetService<ILoggerFactory>()?.CreateLogger(typeof(SharedHttp).FullName!).RequestFailed(request.Method, request.Path.Value ?? "", ex);
            return new ExecutedResult(TypedResults.Problem(
                $"{request.Method} {request.Path} failed on the server; the failure is logged with trace id {request.HttpContext.TraceIdentifier}, and nothing of it is shown here.",
                title: "Internal error", statusCode: StatusCodes.Status500InternalServerError));
        }
    }

    private sealed class ExecutedResult(IResult result) : IActionResult
    {
        public Task ExecuteResultAsync(ActionContext context)
        {
            ArgumentNullException.ThrowIfNull(context);
            return result.ExecuteAsync(context.HttpContext);
        }
    }
}
