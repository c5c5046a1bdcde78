using Agentic.Core.Runs;
using Agentic.Runtime.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace Agentic.Functions;

// The dashboard and the caller's own identity, with the local host's handlers (DashboardApi, MeApi).
public sealed class DashboardTriggers(RunAdmissions admissions)
{
    [Function(nameof(Me))]
    public Task<IActionResult> Me(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "me")] HttpRequest req) =>
        SharedHttp.RunAsync(req, r => Task.FromResult(MeApi.Me(r, admissions)));

    // The dashboard's static assets at /api/dashboard/ (the Functions host puts every route under /api). A browser loads a
    // page and its scripts without custom headers, so this one function takes no function key: App Service authentication
    // in front of it (requireAuthentication, infra/app/api.bicep) admits only signed-in users of the tenant, and the
    // assets hold no data; the page then calls the API with the function key and the session, and every call is checked
    // there. It does not pass SharedHttp's guard for the same reason: that guard is the API's.
    [Function(nameof(Dashboard))]
    public static IActionResult Dashboard(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "dashboard/{*path}")] HttpRequest req,
        string? path)
    {
        ArgumentNullException.ThrowIfNull(req);
        // The page loads its assets relative to itself, so its address must end with a slash.
        if (string.IsNullOrEmpty(path) && !(req.Path.Value ?? "").EndsWith('/'))
        {
            return new RedirectResult(req.PathBase + req.Path + "/" + req.QueryString, permanent: false);
        }
        return new ResultAction(DashboardApi.Serve(req.HttpContext, path));
    }

    private sealed class ResultAction(IResult result) : IActionResult
    {
        public Task ExecuteResultAsync(ActionContext context)
        {
            ArgumentNullException.ThrowIfNull(context);
            return result.ExecuteAsync(context.HttpContext);
        }
    }
}
