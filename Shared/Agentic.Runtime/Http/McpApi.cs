using System.Text.Json;
using Agentic.Core.Json;
using Agentic.Core.Runs;
using Agentic.Core.Tools;
using Agentic.Core.Tools.Mcp;
using Agentic.Runtime.Http.Identity;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace Agentic.Runtime.Http;

/// <summary>
/// MCP tools and their pins, admin role only (401 or 403 problem+json for anyone else):
/// <list type="bullet">
/// <item><c>GET /api/mcp/tools</c>: every MCP tool with what its server announces now (description, input schema, hash),
/// its pin, and <c>status</c>: <c>pinned</c>, <c>unpinned</c>, <c>changed</c>, <c>missing</c> or <c>unreachable</c>.</item>
/// <item><c>POST /api/mcp/pins</c> <c>{ "tool": "mcp.files.read", "hash": "sha256:…", "reason": "..." }</c>: pins the
/// announcement whose hash the admin reviewed (200 with the pin); 409 when the server now announces something else,
/// 400 for an unknown tool or a bad body.</item>
/// </list>
/// </summary>
public static class McpApi
{
    private const int MaxBodyBytes = 16 * 1024;

    /// <summary>Maps <c>/api/mcp</c>.</summary>
    public static IEndpointRouteBuilder MapAgenticMcp(this IEndpointRouteBuilder app)
    {
        var mcp = app.MapGroup("/api/mcp").WithTags("MCP");
        mcp.MapGet("/tools", ToolsAsync).Describe("MCP tools", "Every MCP tool with what its server announces now, its pin and its status (admins).").Refusals();
        mcp.MapPost("/pins", PinAsync).Describe("Pin an MCP tool", "{ tool, hash, reason }: pins the announcement whose hash was reviewed; 409 when the server now announces something else (admins).")
            .Accepts<PinBody>("application/json").Refusals(StatusCodes.Status400BadRequest, StatusCodes.Status409Conflict);
        return app;
    }

    // The handlers below are public so that the Functions app's triggers call the same code as these routes.

    /// <summary><c>GET /api/mcp/tools</c>: every MCP tool, announced and pinned.</summary>
    public static async Task<IResult> ToolsAsync(HttpRequest request, [FromServices] McpGovernance mcp, [FromServices] ToolRegistry tools, CancellationToken cancellationToken)
    {
        if (Refusal(request) is { } refused)
        {
            return refused;
        }
        var statuses = await mcp.StatusAsync(tools, cancellationToken);
        return TypedResults.Json(new { tools = statuses.Select(View) }, AgenticJson.Options);
    }

    /// <summary><c>POST /api/mcp/pins</c>: pins the announcement of a tool whose hash the admin reviewed.</summary>
    public static async Task<IResult> PinAsync(HttpRequest request, [FromServices] McpGovernance mcp, [FromServices] ToolRegistry tools, CancellationToken cancellationToken)
    {
        if (Refusal(request) is { } refused)
        {
            return refused;
        }
        PinBody body;
        try
        {
            body = Parse(await HttpCaller.ReadBodyAsync(request, MaxBodyBytes, cancellationToken), tools);
        }
        catch (InputException ex)
        {
            return HttpCaller.Problem(ex.Title, ex.Message, ex.Errors);
        }
        var (outcome, pin, announced) = await mcp.PinAsync(tools, body.Tool!, body.Hash!, HttpCaller.Principal(request), body.Reason!.Trim(), cancellationToken);
        return outcome switch
        {
            McpPinOutcome.Pinned => TypedResults.Json(PinView(pin!), AgenticJson.Options),
            McpPinOutcome.UnknownTool => HttpCaller.Problem("Invalid pin", "Unknown MCP tool.", [new("tool", $"No MCP tool named '{body.Tool}' is registered.")]),
            _ => TypedResults.Problem(
                announced is null
                    ? $"The server no longer announces {body.Tool}; nothing was pinned."
                    : $"The server now announces {body.Tool} as {announced.Hash}, not {body.Hash}; nothing was pinned. Review the announcement again (GET /api/mcp/tools).",
                title: "Announcement changed", statusCode: StatusCodes.Status409Conflict),
        };
    }

    private static PinBody Parse(byte[]? body, ToolRegistry tools)
    {
        if (body is null)
        {
            throw HttpCaller.TooLarge(MaxBodyBytes);
        }
        if (body.Length == 0)
        {
            throw new InputException("Request body required", [new("$", "The body is empty; send a JSON object.")]);
        }
        PinBody wire;
        try
        {
            wire = JsonSerializer.Deserialize<PinBody>(body, AgenticJson.Strict)
                ?? throw new InputException("Request body required", [new("$", "The body is JSON null; send a JSON object.")]);
        }
        catch (JsonException ex)
        {
            throw new InputException("Malformed JSON", [new(string.IsNullOrEmpty(ex.Path) ? "$" : ex.Path, ex.Message.Split(". ")[0] + ".")]);
        }
        var errors = new List<InputError>();
        if (string.IsNullOrWhiteSpace(wire.Tool))
        {
            errors.Add(new("tool", "Required: the MCP tool's name (mcp.{server}.{tool})."));
        }
        else if (!tools.TryResolve(wire.Tool, out var tool) || tool is not McpTool)
        {
            errors.Add(new("tool", $"No MCP tool named '{wire.Tool}' is registered. MCP tools: {string.Join(", ", McpGovernance.McpTools(tools).Select(t => t.Descriptor.Name))}."));
        }
        if (string.IsNullOrWhiteSpace(wire.Hash) || !wire.Hash.StartsWith("sha256:", StringComparison.Ordinal) || wire.Hash.Length != 71)
        {
            errors.Add(new("hash", "Required: the announcement's hash as GET /api/mcp/tools shows it (sha256: and 64 hex digits)."));
        }
        if (string.IsNullOrWhiteSpace(wire.Reason))
        {
            errors.Add(new("reason", "Required: what was reviewed; it is recorded with the pin."));
        }
        else if (wire.Reason.Length > McpPin.MaxReasonLength)
        {
            errors.Add(new("reason", $"At most {McpPin.MaxReasonLength} characters."));
        }
        return errors.Count > 0 ? throw new InputException("Invalid pin", errors) : wire;
    }

    private static object View(McpToolStatus s) => new
    {
        tool = s.Tool,
        server = s.Server,
        name = s.RemoteName,
        status = s.Status,
        announced = s.Announced is { } a ? new { hash = a.Hash, description = a.Description, inputSchema = JsonSerializer.Deserialize<JsonElement>(a.InputSchema), a.DescriptionDigest, a.SchemaDigest } : null,
        pin = s.Pin is { } p ? PinView(p) : null,
        error = s.Error,
    };

    private static object PinView(McpPin p) =>
        new { tool = p.Tool, hash = p.Hash, description = p.Description, p.DescriptionDigest, p.SchemaDigest, pinnedBy = p.PinnedBy, pinnedAt = p.PinnedAt, reason = p.Reason };

    /// <summary>401 for an unauthenticated caller, 403 for one without the admin role.</summary>
    private static ProblemHttpResult? Refusal(HttpRequest request) => HttpCaller.Refusal(request, "MCP tool pins", AgenticRoles.Admin);

    /// <summary>The body of <c>POST /api/mcp/pins</c>.</summary>
    public sealed record PinBody(string? Tool = null, string? Hash = null, string? Reason = null);
}
