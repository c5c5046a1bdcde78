using System.Security.Claims;
using System.Text;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace Agentic.Runtime.Http.Identity;

/// <summary>Which host is authenticating: what it may trust besides keys and tokens differs.</summary>
public enum AgenticHostKind
{
    /// <summary>The <c>agentic</c> local host: keys and bearer tokens.</summary>
    Local,

    /// <summary>The Azure Functions app: bearer tokens, and App Service authentication's principal while that is on.</summary>
    Functions,
}

/// <summary>
/// Authentication for both hosts, one code path: every request to the API but <c>GET /api/health</c> must carry a
/// credential that a scheme here verifies, and the caller is what that scheme says, never what the request says of
/// itself (<c>X-Agentic-*</c>, <c>X-MS-CLIENT-PRINCIPAL*</c> headers are not read, except App Service's principal while
/// the platform's authentication is on and strips clients' copies). Failures answer 401 problem+json with
/// <c>WWW-Authenticate</c>.
/// </summary>
public static class AgenticAuthentication
{
    /// <summary>The scheme that picks the right scheme for a request's credential.</summary>
    public const string Scheme = "Agentic";

    /// <summary>The route every caller may use unauthenticated.</summary>
    public const string HealthPath = "/api/health";

    /// <summary>
    /// Registers the schemes and validates <see cref="AgenticAuthOptions"/> at start: a host with no way to authenticate
    /// anyone, or with test signing keys in <c>prod</c>, refuses to start with a message naming the settings.
    /// </summary>
    public static IServiceCollection AddAgenticAuthentication(this IServiceCollection services, IConfiguration configuration, AgenticHostKind host)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var appService = host == AgenticHostKind.Functions && string.Equals(configuration[AppServicePrincipal.EnabledSetting], "True", StringComparison.OrdinalIgnoreCase);
        services.AddOptions<AgenticAuthOptions>()
            .Bind(configuration.GetSection(AgenticAuthOptions.Section))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<AgenticAuthOptions>>(new Validator(configuration, host, appService));
        services.AddSingleton<ApiKeyRing>();
        var jwt = configuration.GetSection(AgenticAuthOptions.Section).Get<AgenticAuthOptions>()?.Jwt;
        var builder = services.AddAuthentication(Scheme)
            .AddPolicyScheme(Scheme, "Agentic", o => o.ForwardDefaultSelector = context => Select(context, appService, jwt?.Authority is { Length: > 0 }))
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        if (appService)
        {
            builder.AddScheme<AuthenticationSchemeOptions, AppServiceAuthenticationHandler>(AppServiceAuthenticationHandler.SchemeName, null);
        }
        if (jwt?.Authority is { Length: > 0 } authority)
        {
            builder.AddJwtBearer(JwtBearerDefaults.AuthenticationScheme, o => ConfigureJwt(o, authority, jwt));
        }
        return services;
    }

    /// <summary>
    /// Authenticates the request unless it is the health route; <c>null</c> when it may go on (the verified caller is
    /// then <c>context.User</c>), else the 401 to answer.
    /// </summary>
    public static async Task<IResult?> AuthenticateAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (IsHealth(context.Request))
        {
            return null;
        }
        var result = await context.AuthenticateAsync(Scheme);
        if (result.Succeeded)
        {
            context.User = result.Principal;
            return null;
        }
        // Whatever a client claimed, the request goes no further than this answer.
        context.User = new ClaimsPrincipal(new ClaimsIdentity());
        var detail = result.Failure is null
            ? "Send a key (the x-functions-key header or the code query parameter) or a bearer token."
            : Explain(result.Failure);
        context.RequestServices.GetService<ILoggerFactory>()?.CreateLogger(typeof(AgenticAuthentication).FullName!)
            .AuthenticationFailed(context.Request.Method, context.Request.Path.Value ?? "", detail);
        context.Response.Headers.WWWAuthenticate = Challenges(context);
        return TypedResults.Problem(detail, title: "Authentication required", statusCode: StatusCodes.Status401Unauthorized);
    }

    /// <summary>
    /// The caller a request's credential names, for a route every caller may use (health): an absent or invalid
    /// credential is <see cref="Caller.Anonymous"/>, never an error.
    /// </summary>
    public static async Task<Caller> TryAuthenticateAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var result = await context.AuthenticateAsync(Scheme);
        return result.Succeeded ? Caller.From(result.Principal) : Caller.Anonymous;
    }

    /// <summary>Whether the request is <c>GET /api/health</c>.</summary>
    public static bool IsHealth(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return HttpMethods.IsGet(request.Method) && request.Path.Equals(HealthPath, StringComparison.OrdinalIgnoreCase);
    }

    private static string Select(HttpContext context, bool appService, bool jwt)
    {
        if (appService && context.Request.Headers.ContainsKey(AppServicePrincipal.Header))
        {
            return AppServiceAuthenticationHandler.SchemeName;
        }
        if (jwt && context.Request.Headers.Authorization.FirstOrDefault() is { } authorization
            && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return JwtBearerDefaults.AuthenticationScheme;
        }
        return ApiKeyAuthenticationHandler.SchemeName;
    }

    private static string[] Challenges(HttpContext context)
    {
        var options = context.RequestServices.GetService<IOptions<AgenticAuthOptions>>()?.Value;
        var challenges = new List<string>();
        if (options?.Jwt.Authority is { Length: > 0 })
        {
            challenges.Add("Bearer realm=\"agentic\"");
        }
        challenges.Add($"Key realm=\"agentic\", header=\"{ApiKeyAuthenticationHandler.Header}\"");
        return [.. challenges];
    }

    // A reason a caller can act on, without echoing anything the credential carried.
    private static string Explain(Exception failure) => failure switch
    {
        SecurityTokenExpiredException => "The bearer token has expired.",
        SecurityTokenNotYetValidException => "The bearer token is not valid yet.",
        SecurityTokenInvalidAudienceException => "The bearer token is for another audience.",
        SecurityTokenInvalidIssuerException => "The bearer token is from another issuer.",
        SecurityTokenSignatureKeyNotFoundException or SecurityTokenInvalidSignatureException => "The bearer token's signature is not valid.",
        SecurityTokenException => "The bearer token is not valid.",
        ArgumentException => "The bearer token is malformed.",
        _ => failure.Message,
    };

    private static void ConfigureJwt(JwtBearerOptions options, string authority, JwtOptions jwt)
    {
        // Claims keep their token names (oid, sub, roles) instead of being renamed to XML URIs.
        options.MapInboundClaims = false;
        options.Authority = authority;
        options.Audience = jwt.Audience;
        options.TokenValidationParameters.ValidAudience = jwt.Audience;
        options.TokenValidationParameters.ValidIssuer = authority;
        options.TokenValidationParameters.ClockSkew = TimeSpan.FromMinutes(2);
        options.TokenValidationParameters.RequireExpirationTime = true;
        options.TokenValidationParameters.RequireSignedTokens = true;
        var keys = jwt.SigningKeys.Select(JwtOptions.DecodeKey).OfType<byte[]>().Select(k => (SecurityKey)new SymmetricSecurityKey(k)).ToList();
        if (keys.Count > 0)
        {
            // Test deployments: tokens signed with configured keys, no metadata fetched from the authority.
            var configuration = new OpenIdConnectConfiguration { Issuer = authority };
            foreach (var key in keys)
            {
                configuration.SigningKeys.Add(key);
            }
            options.Configuration = configuration;
            options.TokenValidationParameters.IssuerSigningKeys = keys;
        }
        options.Events = new JwtBearerEvents
        {
            OnTokenValidated = context =>
            {
                var token = context.Principal;
                var id = token?.FindFirst("oid")?.Value ?? token?.FindFirst("sub")?.Value;
                if (string.IsNullOrWhiteSpace(id) || id.Length > 256)
                {
                    context.Fail("The bearer token names no principal (oid or sub).");
                    return Task.CompletedTask;
                }
                var roles = token!.FindAll("roles").Select(c => c.Value);
                context.Principal = AgenticClaims.Principal(JwtBearerDefaults.AuthenticationScheme, id, roles);
                return Task.CompletedTask;
            },
            // The answer is written by AuthenticateAsync, as problem+json.
            OnChallenge = context =>
            {
                context.HandleResponse();
                return Task.CompletedTask;
            },
        };
    }

    private sealed class Validator(IConfiguration configuration, AgenticHostKind host, bool appService) : IValidateOptions<AgenticAuthOptions>
    {
        public ValidateOptionsResult Validate(string? name, AgenticAuthOptions options)
        {
            var problems = options.Validate(configuration["Agentic:Environment"]).ToList();
            var jwt = options.Jwt.Authority is { Length: > 0 };
            if (host == AgenticHostKind.Functions && !appService && !jwt)
            {
                problems.Add($"No way to identify callers: turn on App Service authentication ({AppServicePrincipal.EnabledSetting}=True) or set {AgenticAuthOptions.Section}:Jwt:Authority and {AgenticAuthOptions.Section}:Jwt:Audience (Agentic__Auth__Jwt__Authority, Agentic__Auth__Jwt__Audience).");
            }
            if (host == AgenticHostKind.Local && options.ApiKeys.Count == 0 && !jwt)
            {
                problems.Add($"No way to identify callers: configure keys ({AgenticAuthOptions.Section}:ApiKeys:0:Sha256, :Principal, :Roles:0) or bearer tokens ({AgenticAuthOptions.Section}:Jwt:Authority and :Audience).");
            }
            return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
        }
    }
}
