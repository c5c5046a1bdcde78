using System.Collections.Frozen;
using System.Reflection;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;

namespace Agentic.Runtime.Http;

/// <summary>
/// The dashboard: the static assets in <c>dashboard/</c> (HTML, CSS and JavaScript modules, embedded in this assembly as
/// they are), served the same way by both hosts: the local host at <c>/</c>, the Functions app at <c>/api/dashboard/</c>.
/// Nothing is fetched from elsewhere at run time. Every answer carries a Content-Security-Policy that allows this origin
/// only and no inline script, and an ETag with <c>Cache-Control: no-cache</c>, so a browser revalidates (a 304 costs no
/// body) and never runs assets older than the host. The assets hold no data and no secret: the page signs in and calls
/// the API, which checks every call.
/// </summary>
public static class DashboardApi
{
    /// <summary>The policy every dashboard answer carries: this origin only, no inline script or style, no framing.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; font-src 'self'; "
        + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    /// <summary>The page itself; the other assets are under <see cref="AssetsFolder"/>.</summary>
    public const string IndexPath = "index.html";

    /// <summary>The folder the page loads its scripts, styles and images from, relative to the page.</summary>
    public const string AssetsFolder = "assets";

    private const string ResourcePrefix = "dashboard/";

    private static readonly FrozenDictionary<string, string> ContentTypes = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".svg"] = "image/svg+xml",
        [".png"] = "image/png",
        [".json"] = "application/json; charset=utf-8",
    }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    private static readonly Lazy<FrozenDictionary<string, DashboardAsset>> Shipped = new(() => Load(typeof(DashboardApi).Assembly));

    /// <summary>Every asset by its path relative to the dashboard's root (<c>index.html</c>, <c>assets/app.js</c>, ...).</summary>
    public static IReadOnlyDictionary<string, DashboardAsset> Assets => Shipped.Value;

    /// <summary>Maps the dashboard at the local host's root: <c>GET /</c> (the page) and <c>GET /assets/{*path}</c>.</summary>
    public static IEndpointRouteBuilder MapAgenticDashboard(this IEndpointRouteBuilder app)
    {
        app.MapGet("/", (HttpContext context) => Serve(context, "")).ExcludeFromDescription();
        app.MapGet("/" + AssetsFolder + "/{*path}", (HttpContext context, string? path) => Serve(context, AssetsFolder + "/" + path)).ExcludeFromDescription();
        return app;
    }

    /// <summary>
    /// Answers the asset at <paramref name="path"/> (relative to the dashboard's root; empty for the page): 200 with the
    /// security and cache headers, 304 when the caller's <c>If-None-Match</c> names it, 404 problem+json for anything else.
    /// </summary>
    public static IResult Serve(HttpContext context, string? path)
    {
        ArgumentNullException.ThrowIfNull(context);
        var relative = string.IsNullOrEmpty(path) ? IndexPath : path;
        if (!Assets.TryGetValue(relative, out var asset))
        {
            return TypedResults.Problem($"The dashboard has no file '{relative}'.", title: "Not found", statusCode: StatusCodes.Status404NotFound);
        }
        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
        headers["Cross-Origin-Resource-Policy"] = "same-origin";
        headers.CacheControl = "no-cache";
        headers.ETag = asset.ETag;
        var asked = context.Request.GetTypedHeaders().IfNoneMatch;
        if (asked.Any(tag => tag.Equals(EntityTagHeaderValue.Any) || string.Equals(tag.Tag.Value, asset.ETag, StringComparison.Ordinal)))
        {
            return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        }
        return TypedResults.Bytes(asset.Content, asset.ContentType);
    }

    private static FrozenDictionary<string, DashboardAsset> Load(Assembly assembly)
    {
        var assets = new Dictionary<string, DashboardAsset>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            var path = name[ResourcePrefix.Length..].Replace('\\', '/');
            var type = ContentTypes.GetValueOrDefault(Path.GetExtension(path));
            if (type is null)
            {
                // Only the kinds of file the page is made of are served; anything else in the folder stays private.
                continue;
            }
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            var content = buffer.ToArray();
            assets[path] = new DashboardAsset(path, content, type, $"\"{Convert.ToHexStringLower(SHA256.HashData(content))[..32]}\"");
        }
        if (!assets.ContainsKey(IndexPath))
        {
            throw new InvalidOperationException($"The dashboard's {IndexPath} is not embedded in {assembly.GetName().Name}.");
        }
        return assets.ToFrozenDictionary(StringComparer.Ordinal);
    }
}

/// <summary>One dashboard file: its path, bytes, media type and strong ETag (a digest of the bytes).</summary>
public sealed record DashboardAsset(string Path, byte[] Content, string ContentType, string ETag);
