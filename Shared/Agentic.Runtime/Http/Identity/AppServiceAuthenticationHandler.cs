using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Agentic.Runtime.Http.Identity;

/// <summary>
/// App Service authentication's principal (<see cref="AppServicePrincipal"/>). Registered only when the platform's
/// authentication is on (<c>WEBSITE_AUTH_ENABLED</c> is <c>True</c>): otherwise a client could send the header itself.
/// The principal id is the token's object id (<c>oid</c>); a document without one fails.
/// </summary>
internal sealed class AppServiceAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "AppService";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers[AppServicePrincipal.Header].FirstOrDefault();
        if (string.IsNullOrEmpty(header))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }
        if (AppServicePrincipal.Read(header) is not { ObjectId: { } objectId } principal)
        {
            return Task.FromResult(AuthenticateResult.Fail("App Service's principal names no object id (oid)."));
        }
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(AgenticClaims.Principal(SchemeName, objectId, principal.Roles), SchemeName)));
    }
}
