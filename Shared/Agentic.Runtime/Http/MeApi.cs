using Agentic.Core.Runs;
using Agentic.Core.Json;
using Agentic.Runtime.Http.Identity;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace Agentic.Runtime.Http;

/// <summary>
/// <c>GET /api/me</c>: who the API takes the caller to be, as its credential was verified (never as the request says of
/// itself): the principal id, the roles, and the deployment's environment. Any authenticated caller may ask, with or
/// without a role; the dashboard uses it to offer what the roles allow, and the API still checks every call.
/// </summary>
public static class MeApi
{
    /// <summary>Maps <c>GET /api/me</c>.</summary>
    public static IEndpointRouteBuilder MapAgenticMe(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/me", Me).WithTags("Identity")
            .Describe("Who am I", "The verified caller's principal, roles and the deployment's environment; any authenticated caller, with or without a role.")
            .Produces<MeView>().ProducesProblem(StatusCodes.Status401Unauthorized);
        return app;
    }

    /// <summary><c>GET /api/me</c>: the verified caller's principal and roles (401 for anyone else).</summary>
    public static IResult Me(HttpRequest request, [FromServices] RunAdmissions admissions)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(admissions);
        var caller = Caller.Of(request.HttpContext);
        if (!caller.IsAuthenticated)
        {
            return HttpCaller.Refusal(request, "asking who you are")!;
        }
        return TypedResults.Json(new MeView(caller.Id, caller.Roles, admissions.Environment), AgenticJson.Options);
    }
}

/// <summary>The body of <c>GET /api/me</c>.</summary>
public sealed record MeView(string Principal, IReadOnlyList<string> Roles, string Environment);
