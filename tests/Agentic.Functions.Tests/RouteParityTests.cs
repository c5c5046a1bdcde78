using Agentic.Functions.Tests.Support;
using System.Text.Json.Nodes;
using Agentic.LocalHost;
using Agentic.Runtime.Http;
using Agentic.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;

namespace Agentic.Functions.Tests;

// The two hosts serve one HTTP contract. The local host's routes come from its real endpoint data source (LocalHostApp.Build,
// the same call `agentic up` makes, so a route mapped there or in MapAgenticApi is seen without this file changing); the
// Functions app's from the functions.metadata that `dotnet publish` writes and the Functions host indexes.
//
// Compared: the method and the whole route template, parameter names and constraints included (both hosts' documents
// name the parameters, and a constraint changes which URLs reach a handler). Deliberate differences are listed in
// LocalOnly with the reason, and each must still exist locally, so an exception can not outlive its route.
public sealed class RouteParityTests(PublishedFunctionsApp functions)
{
    private static readonly Dictionary<string, string> LocalOnly = new(StringComparer.Ordinal)
    {
        // The dashboard at the local host's root. The Functions host puts every route under /api, so the app serves the
        // same assets through the same handler at /api/dashboard/ (AzureOnly below).
        ["GET /"] = "the dashboard's page",
        ["GET /assets/{*path}"] = "the dashboard's scripts, styles and images",
    };

    private static readonly Dictionary<string, string> AzureOnly = new(StringComparer.Ordinal)
    {
        ["GET /api/dashboard/{*path}"] = "the dashboard, served at the local host's root",
    };

    [Fact]
    public async Task EveryLocalRoute_IsAFunction_WithTheSameMethodAndRoute()
    {
        var local = await LocalRoutesAsync();
        var azure = FunctionRoutes();

        var missing = local.Where(r => !azure.ContainsKey(r) && !LocalOnly.ContainsKey(r)).Order(StringComparer.Ordinal).ToList();

        Assert.True(missing.Count == 0,
            "Routes the local host serves and the Functions app does not (add a trigger over the same shared handler, AuthorizationLevel.Function, "
            + "as Functions/GovernanceTriggers.cs does):\n  " + string.Join("\n  ", missing)
            + "\nFunctions app routes:\n  " + string.Join("\n  ", azure.Keys.Order(StringComparer.Ordinal)));
        Assert.All(LocalOnly.Keys, r => Assert.True(local.Contains(r), $"{r} is listed as local-only but the local host no longer serves it: remove it from LocalOnly."));
    }

    [Fact]
    public async Task EveryHttpFunction_IsALocalRoute_WithTheSameMethodAndRoute()
    {
        var local = await LocalRoutesAsync();
        var azure = FunctionRoutes();

        var extra = azure.Where(r => !local.Contains(r.Key) && !AzureOnly.ContainsKey(r.Key)).Select(r => $"{r.Key} ({r.Value})").Order(StringComparer.Ordinal).ToList();

        Assert.True(extra.Count == 0,
            "HTTP functions with no route of the same method and template on the local host:\n  " + string.Join("\n  ", extra)
            + "\nLocal host routes:\n  " + string.Join("\n  ", local.Order(StringComparer.Ordinal)));
        Assert.All(AzureOnly.Keys, r => Assert.True(azure.ContainsKey(r), $"{r} is listed as Azure-only but the Functions app no longer serves it: remove it from AzureOnly."));
    }

    [Fact]
    public async Task OpenApiDocument_DescribesExactlyTheRoutesBothHostsServe()
    {
        var local = await LocalRoutesAsync();
        var azure = FunctionRoutes();
        // What the Functions app serves at /api/openapi.json: the shared endpoints' document, built without a host.
        var document = JsonNode.Parse(await AgenticApiDocument.Detached().JsonAsync(TestContext.Current.CancellationToken))!;

        var described = document["paths"]!.AsObject()
            .SelectMany(p => p.Value!.AsObject().Where(o => o.Key is "get" or "put" or "post" or "delete" or "patch" or "head" or "options").Select(o => $"{o.Key.ToUpperInvariant()} {p.Key}"))
            .ToHashSet(StringComparer.Ordinal);
        // OpenAPI has no catch-all or constraint markers: compare the routes without them.
        var served = local.Where(r => !LocalOnly.ContainsKey(r)).Select(Plain).ToHashSet(StringComparer.Ordinal);

        Assert.True(served.SetEquals(described),
            "Routes served but not described:\n  " + string.Join("\n  ", served.Except(described).Order(StringComparer.Ordinal))
            + "\nDescribed but not served:\n  " + string.Join("\n  ", described.Except(served).Order(StringComparer.Ordinal)));
        // The dashboard's pages and assets are not API routes; the document describes the API.
        Assert.True(azure.Keys.Where(r => !AzureOnly.ContainsKey(r)).Select(Plain).ToHashSet(StringComparer.Ordinal).SetEquals(described), "The Functions app's routes and the document differ.");
        Assert.True(azure.ContainsKey("GET /api/openapi.json"), "The Functions app does not serve the document.");
    }

    [Fact]
    public async Task OpenApiDocument_OfTheFunctionsApp_IsTheOneTheLocalHostGeneratesFromItsEndpoints()
    {
        var (app, _) = LocalHostApp.Build(["--urls", "http://127.0.0.1:0", "--settings", Path.Combine(Repo.Root, "local.settings.sample.json"), "--keys", "none"]);
        await using var _ = app;
        // The host is not started here: wire its endpoints into routing as starting it does (the served document is
        // generated on the first request, after the start).
        app.UseRouting();
        app.UseEndpoints(_ => { });

        var local = await app.Services.GetRequiredService<AgenticApiDocument>().JsonAsync(TestContext.Current.CancellationToken);
        var functions = await AgenticApiDocument.Detached().JsonAsync(TestContext.Current.CancellationToken);

        Assert.True(JsonNode.Parse(local)!["paths"]!.AsObject().Count >= 20, "The local host's document describes almost nothing:\n" + local);
        Assert.Equal(local, functions);
        var schemes = JsonNode.Parse(functions)!["components"]!["securitySchemes"]!.AsObject().Select(s => s.Key).Order(StringComparer.Ordinal);
        Assert.Equal([OpenApiDocumentApi.BearerScheme, OpenApiDocumentApi.KeyHeaderScheme, OpenApiDocumentApi.KeyQueryScheme], schemes);
    }

    [Fact]
    public void RetentionSweep_IsAnHourlyTimer_OverTheBoundDurableClient()
    {
        var sweep = Assert.Single(functions.Functions, f => f.Name == "RetentionSweep");

        Assert.Equal("timerTrigger", sweep.Trigger!["type"]!.GetValue<string>(), StringComparer.OrdinalIgnoreCase);
        Assert.Equal("0 17 * * * *", sweep.Trigger["schedule"]!.GetValue<string>());
        Assert.Contains(sweep.Bindings, b => string.Equals(b["type"]?.GetValue<string>(), "durableClient", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void NoFunction_IsAnonymous_ButTheDashboardsStaticAssets()
    {
        var http = functions.Functions.Where(f => f.IsHttp).ToList();
        Assert.NotEmpty(http);

        // A browser loads a page and its scripts without the function key, so the dashboard's assets take none: App Service
        // authentication admits only signed-in users to them (InfraTests), and they hold no data. Only that function, and
        // only GET of the assets the handler serves.
        var dashboard = Assert.Single(http, f => f.Name == "Dashboard");
        Assert.Equal("anonymous", dashboard.Trigger!["authLevel"]?.GetValue<string>(), StringComparer.OrdinalIgnoreCase);
        Assert.Equal(["GET"], dashboard.Trigger["methods"]!.AsArray().Select(m => m!.GetValue<string>().ToUpperInvariant()));
        Assert.Equal("dashboard/{*path}", dashboard.Trigger["route"]?.GetValue<string>());
        http.Remove(dashboard);
        // Anywhere else in the metadata: a binding of any kind, a route, a property.
        Assert.All(functions.Functions.Where(f => f != dashboard), f =>
            Assert.DoesNotContain("anonymous", string.Concat(f.Bindings.Select(b => b.ToJsonString())), StringComparison.OrdinalIgnoreCase));
        Assert.All(http, f =>
        {
            var level = f.Trigger!["authLevel"]?.GetValue<string>();
            Assert.True(level is not null && (level.Equals("Function", StringComparison.OrdinalIgnoreCase) || level.Equals("Admin", StringComparison.OrdinalIgnoreCase)),
                $"{f.Name} has authLevel '{level}': every function needs a key (Function), App Service authentication in front of it or not.");
        });
    }

    [Fact]
    public async Task HttpFiles_SendOnlyRoutesTheHostsServe_AndTheLocalOneHasEveryApiRoute()
    {
        var local = await LocalRoutesAsync();
        var azure = FunctionRoutes();
        var localFile = HttpFileRequests(Path.Combine(Repo.Root, "LocalHost", "agentic.http"));
        var azureFile = HttpFileRequests(Path.Combine(Repo.Root, "Functions", "runs.http"));

        var unknownLocal = localFile.Where(r => Matching(local, r) is null).ToList();
        var unknownAzure = azureFile.Where(r => Matching(azure.Keys, r) is null).ToList();

        Assert.True(unknownLocal.Count == 0, "LocalHost/agentic.http sends requests no route answers:\n  " + string.Join("\n  ", unknownLocal));
        Assert.True(unknownAzure.Count == 0, "Functions/runs.http sends requests no function answers:\n  " + string.Join("\n  ", unknownAzure));
        // The README says agentic.http has every call ready to send: every API route, once at least.
        var sent = localFile.Select(r => Matching(local, r)).ToHashSet(StringComparer.Ordinal);
        var unsent = local.Where(r => r.Contains(" /api/", StringComparison.Ordinal) && !sent.Contains(r)).Order(StringComparer.Ordinal).ToList();
        Assert.True(unsent.Count == 0, "API routes LocalHost/agentic.http has no request for:\n  " + string.Join("\n  ", unsent));
    }

    // "METHOD /path" of every request in a .http file, its variables ({{...}}) standing for one path segment each.
    private static List<string> HttpFileRequests(string file)
    {
        var requests = File.ReadLines(file)
            .Select(l => System.Text.RegularExpressions.Regex.Match(l, @"^(GET|POST|PUT|PATCH|DELETE) \{\{host\}\}(/[^?\s]*)"))
            .Where(m => m.Success)
            .Select(m => $"{m.Groups[1].Value} {System.Text.RegularExpressions.Regex.Replace(m.Groups[2].Value, @"\{\{[^}]+\}\}", "x")}")
            .ToList();
        Assert.True(requests.Count >= 10, $"{file} has almost no requests.");
        return requests;
    }

    // The route template that answers "METHOD /path", if any: literal segments equal, a parameter any one segment, a
    // catch-all the rest.
    private static string? Matching(IEnumerable<string> routes, string request)
    {
        var (method, path) = (request[..request.IndexOf(' ', StringComparison.Ordinal)], request[(request.IndexOf(' ', StringComparison.Ordinal) + 1)..]);
        var segments = path.Trim('/').Split('/');
        foreach (var route in routes)
        {
            var (routeMethod, template) = (route[..route.IndexOf(' ', StringComparison.Ordinal)], route[(route.IndexOf(' ', StringComparison.Ordinal) + 1)..]);
            if (routeMethod != method && routeMethod != "ANY")
            {
                continue;
            }
            var parts = template.Trim('/').Split('/');
            var matches = true;
            for (var i = 0; matches && i < parts.Length; i++)
            {
                if (parts[i].StartsWith("{*", StringComparison.Ordinal))
                {
                    matches = segments.Length > i;
                    parts = parts[..(i + 1)];
                    segments = segments.Length > i ? [.. segments[..i], string.Join('/', segments[i..])] : segments;
                    break;
                }
                matches = i < segments.Length && (parts[i].StartsWith('{') || parts[i] == segments[i]);
            }
            if (matches && parts.Length == segments.Length)
            {
                return route;
            }
            segments = path.Trim('/').Split('/');
        }
        return null;
    }

    private static string Plain(string route) => System.Text.RegularExpressions.Regex.Replace(route.Replace("{*", "{", StringComparison.Ordinal), ":[^}]+}", "}");

    // "METHOD /template" for every route endpoint of the local host as `agentic up` builds it (nothing is started).
    private static async Task<HashSet<string>> LocalRoutesAsync()
    {
        var (app, _) = LocalHostApp.Build(["--urls", "http://127.0.0.1:0", "--settings", Path.Combine(Repo.Root, "local.settings.sample.json"), "--keys", "none"]);
        await using var _ = app;
        var routes = ((IEndpointRouteBuilder)app).DataSources
            .SelectMany(s => s.Endpoints)
            .OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["ANY"]).Select(m => $"{m.ToUpperInvariant()} {Template(e.RoutePattern)}"))
            .ToHashSet(StringComparer.Ordinal);
        Assert.NotEmpty(routes);
        return routes;
    }

    // "METHOD /template" -> function name, for every HTTP-triggered function; the route prefix comes from host.json.
    private Dictionary<string, string> FunctionRoutes()
    {
        var routes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var function in functions.Functions.Where(f => f.IsHttp))
        {
            var trigger = function.Trigger!;
            // Without a route the Functions host serves the function under its name; without methods, under every method.
            var route = trigger["route"]?.GetValue<string>() ?? function.Name;
            var methods = trigger["methods"]?.AsArray().Select(m => m!.GetValue<string>().ToUpperInvariant()).ToList() ?? ["ANY"];
            var template = Template(RoutePatternFactory.Parse($"/{functions.RoutePrefix}/{route}"));
            foreach (var method in methods)
            {
                Assert.True(routes.TryAdd($"{method} {template}", function.Name), $"{method} {template} is served by two functions.");
            }
        }
        Assert.NotEmpty(routes);
        return routes;
    }

    // One spelling for both hosts: segments joined by '/', no trailing slash (MapGroup("/api/runs").MapPost("/") is /api/runs/),
    // parameters with their optional, catch-all and constraint markers.
    private static string Template(RoutePattern pattern) =>
        "/" + string.Join('/', pattern.PathSegments.Select(s => string.Concat(s.Parts.Select(part => part switch
        {
            RoutePatternLiteralPart literal => literal.Content,
            RoutePatternSeparatorPart separator => separator.Content,
            RoutePatternParameterPart p => "{" + (p.IsCatchAll ? "*" : "") + p.Name
                + string.Concat(p.ParameterPolicies.Select(c => ":" + c.Content)) + (p.IsOptional ? "?" : "") + "}",
            _ => throw new InvalidOperationException($"Unexpected route part {part.GetType().Name} in {pattern.RawText}"),
        }))));
}
