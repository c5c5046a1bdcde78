using System.Text;
using Agentic.Runtime.Http;

namespace Agentic.Runtime.Tests;

/// <summary>Roles from App Service authentication's principal header (the Functions host's only source of roles).</summary>
public sealed class AppServicePrincipalTests
{
    private static string Encode(string json) => Convert.ToBase64String(Encoding.UTF8.GetBytes(json));

    [Fact]
    public void Roles_AreTheClaimsOfTheDeclaredRoleType()
    {
        var header = Encode("""
            {"auth_typ":"aad","name_typ":"name","role_typ":"http://schemas.microsoft.com/ws/2008/06/identity/claims/role",
             "claims":[{"typ":"name","val":"carol"},{"typ":"http://schemas.microsoft.com/ws/2008/06/identity/claims/role","val":"admin"},
                       {"typ":"roles","val":"operator"},{"typ":"groups","val":"admin-group"}]}
            """);

        Assert.Equal(["admin", "operator"], AppServicePrincipal.Roles(header));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("not base64!")]
    [InlineData("bm90IGpzb24=")] // "not json"
    [InlineData("WzFd")] // [1]
    [InlineData("eyJjbGFpbXMiOiJhZG1pbiJ9")] // {"claims":"admin"}
    public void AnythingElse_HasNoRoles(string? header)
    {
        Assert.Empty(AppServicePrincipal.Roles(header));
    }
}
