using System.Security.Cryptography;
using System.Text;
using Agentic.Runtime.Http;
using Agentic.Runtime.Http.Identity;
using Agentic.Testing;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Agentic.Runtime.Tests;

/// <summary>
/// The authentication both hosts run (RequestGuard), in process: the Functions host's trust in App Service's principal
/// only while its authentication is on, and settings that refuse to start a host nobody could call safely.
/// </summary>
public sealed class AuthenticationTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static ServiceProvider Services(AgenticHostKind host, Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddAgenticAuthentication(configuration, host);
        return services.BuildServiceProvider();
    }

    private static Dictionary<string, string?> Jwt(string environment = "dev") => new()
    {
        ["Agentic:Environment"] = environment,
        ["Agentic:Auth:Jwt:Authority"] = TestIdentities.Authority,
        ["Agentic:Auth:Jwt:Audience"] = TestIdentities.Audience,
        ["Agentic:Auth:Jwt:SigningKeys:0"] = TestIdentities.SigningKey,
    };

    private static async Task<(int? Status, Caller Caller)> CallAsync(IServiceProvider services, Action<HttpRequest> prepare, string path = "/api/controls")
    {
        // One scope per request, as both hosts give each request (authentication handlers are per request).
        await using var scope = services.CreateAsyncScope();
        var context = new DefaultHttpContext { RequestServices = scope.ServiceProvider };
        context.Request.Method = "GET";
        context.Request.Path = path;
        prepare(context.Request);
        var refused = await RequestGuard.CheckAsync(context);
        if (refused is null)
        {
            return (null, Caller.Of(context));
        }
        await refused.ExecuteAsync(context);
        return (context.Response.StatusCode, Caller.Of(context));
    }

    private static string AppServiceHeader(string? oid, params string[] roles)
    {
        var claims = roles.Select(r => $$"""{"typ":"roles","val":"{{r}}"}""").ToList();
        if (oid is not null)
        {
            claims.Add($$"""{"typ":"http://schemas.microsoft.com/identity/claims/objectidentifier","val":"{{oid}}"}""");
        }
        claims.Add("""{"typ":"name","val":"Alice Display"}""");
        return Convert.ToBase64String(Encoding.UTF8.GetBytes($$"""{"auth_typ":"aad","claims":[{{string.Join(',', claims)}}]}"""));
    }

    [Fact]
    public async Task Functions_AppServiceAuthenticationOn_NamesTheCallerByObjectIdWithTheirRoles()
    {
        await using var services = Services(AgenticHostKind.Functions, new() { ["WEBSITE_AUTH_ENABLED"] = "True", ["Agentic:Environment"] = "prod" });

        var (status, caller) = await CallAsync(services, r =>
        {
            r.Headers[AppServicePrincipal.Header] = AppServiceHeader("11111111-oid", "admin");
            r.Headers[AppServicePrincipal.NameHeader] = "someone-else";
        });

        Assert.Null(status);
        Assert.Equal(("11111111-oid", true), (caller.Id, caller.Has("admin")));
    }

    [Fact]
    public async Task Functions_AppServiceDocumentWithoutObjectId_Answers401()
    {
        await using var services = Services(AgenticHostKind.Functions, new() { ["WEBSITE_AUTH_ENABLED"] = "True" });

        var (status, caller) = await CallAsync(services, r => r.Headers[AppServicePrincipal.Header] = AppServiceHeader(null, "admin"));

        Assert.Equal((401, false), (status, caller.IsAuthenticated));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("False")]
    [InlineData("")]
    public async Task Functions_AppServiceAuthenticationOff_AForgedPrincipalHeaderIsNotAnIdentity(string? enabled)
    {
        var settings = Jwt();
        settings["WEBSITE_AUTH_ENABLED"] = enabled;
        await using var services = Services(AgenticHostKind.Functions, settings);

        var (status, caller) = await CallAsync(services, r =>
        {
            r.Headers[AppServicePrincipal.Header] = AppServiceHeader("mallory-oid", "admin");
            r.Headers[AppServicePrincipal.NameHeader] = "admin-1";
            r.Headers["X-Agentic-Roles"] = "admin";
        });

        Assert.Equal((401, false), (status, caller.IsAuthenticated));
    }

    [Fact]
    public async Task Functions_BearerToken_IsVerifiedAndNamesTheCallerByOid()
    {
        await using var services = Services(AgenticHostKind.Functions, Jwt());

        var (status, caller) = await CallAsync(services, r => r.Headers.Authorization = "Bearer " + TestIdentities.MintToken("oid-42", ["operator"], name: "admin-1"));

        Assert.Null(status);
        Assert.Equal(("oid-42", true, false), (caller.Id, caller.Has("operator"), caller.Has("admin")));
    }

    [Fact]
    public async Task Health_NeedsNoCredential()
    {
        await using var services = Services(AgenticHostKind.Functions, Jwt());

        var (status, caller) = await CallAsync(services, _ => { }, path: "/api/health");

        Assert.Equal((null, false), ((int?)status, caller.IsAuthenticated));
    }

    [Fact]
    public async Task Key_MatchesOnlyItsOwnHash()
    {
        var key = TestIdentities.NewSecret(24);
        var settings = new Dictionary<string, string?>
        {
            ["Agentic:Auth:ApiKeys:0:Sha256"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("other-key-other-key"))),
            ["Agentic:Auth:ApiKeys:0:Principal"] = "other",
            ["Agentic:Auth:ApiKeys:1:Sha256"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key))),
            ["Agentic:Auth:ApiKeys:1:Principal"] = "bot-1",
            ["Agentic:Auth:ApiKeys:1:Roles:0"] = "requester",
        };
        await using var services = Services(AgenticHostKind.Local, settings);

        var good = await CallAsync(services, r => r.Headers["x-functions-key"] = key);
        var query = await CallAsync(services, r => r.QueryString = new QueryString("?code=" + Uri.EscapeDataString(key)));
        var bad = await CallAsync(services, r => r.Headers["x-functions-key"] = key[..^1]);

        Assert.Equal(("bot-1", true), (good.Caller.Id, good.Caller.Has("requester")));
        Assert.Equal("bot-1", query.Caller.Id);
        Assert.Equal(401, bad.Status);
    }

    public static TheoryData<AgenticHostKind, Dictionary<string, string?>, string> RefusedSettings => new()
    {
        { AgenticHostKind.Functions, new() { ["Agentic:Environment"] = "prod" }, "Agentic__Auth__Jwt__Authority" },
        { AgenticHostKind.Functions, new() { ["WEBSITE_AUTH_ENABLED"] = "false" }, "WEBSITE_AUTH_ENABLED" },
        { AgenticHostKind.Local, new() { ["Agentic:Environment"] = "dev" }, "Agentic:Auth:ApiKeys" },
        { AgenticHostKind.Local, Jwt("prod"), "Agentic:Auth:Jwt:SigningKeys" },
        { AgenticHostKind.Local, new() { ["Agentic:Auth:ApiKeys:0:Sha256"] = "abc", ["Agentic:Auth:ApiKeys:0:Principal"] = "bot" }, "Agentic:Auth:ApiKeys:0:Sha256" },
        { AgenticHostKind.Local, new() { ["Agentic:Auth:ApiKeys:0:Sha256"] = new string('a', 64), ["Agentic:Auth:ApiKeys:0:Principal"] = "Anonymous" }, "Agentic:Auth:ApiKeys:0:Principal" },
        { AgenticHostKind.Local, new() { ["Agentic:Auth:Jwt:Authority"] = "http://login.example/v2.0", ["Agentic:Auth:Jwt:Audience"] = "x" }, "Agentic:Auth:Jwt:Authority" },
        { AgenticHostKind.Local, new() { ["Agentic:Auth:Jwt:Authority"] = "https://login.example/v2.0" }, "Agentic:Auth:Jwt:Audience" },
    };

    [Theory]
    [MemberData(nameof(RefusedSettings))]
    public async Task Settings_ThatLeaveTheHostUnsafe_StopItNamingTheSetting(AgenticHostKind host, Dictionary<string, string?> settings, string named)
    {
        await using var services = Services(host, settings);

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<AgenticAuthOptions>>().Value);

        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }
}
