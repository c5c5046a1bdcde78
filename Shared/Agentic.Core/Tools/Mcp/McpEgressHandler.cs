using Agentic.Core.Secrets;
using Agentic.Core.Tools.Builtin;

namespace Agentic.Core.Tools.Mcp;

/// <summary>
/// The HTTP handler of an MCP server's streamable HTTP transport. Every request must go to the configured endpoint and
/// match an egress rule (method, scheme, host, port, path), and is sent through the <see cref="EgressClient"/>, which
/// refuses private addresses unless the rule allows them and cloud metadata addresses always, on the addresses it
/// connects to. The configured secret headers are resolved for each request, and only those.
/// </summary>
internal sealed class McpEgressHandler(
    string server, Uri endpoint, EgressPolicy egress, EgressClient client, ISecretProvider secrets, IReadOnlyDictionary<string, SecretTemplate> secretHeaders) : HttpMessageHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var uri = request.RequestUri ?? endpoint;
        // The transport only ever talks to its endpoint: anything else would carry the secrets elsewhere.
        if (!Uri.Equals(new Uri(uri.GetLeftPart(UriPartial.Path)), new Uri(endpoint.GetLeftPart(UriPartial.Path))))
        {
            throw new ToolException($"MCP server '{server}': a request to {uri.GetLeftPart(UriPartial.Path)} is not to its endpoint {endpoint.GetLeftPart(UriPartial.Path)}.", retryable: false);
        }
        var grant = egress.Authorize(request.Method.Method, uri, $"MCP server '{server}'");
        if (secretHeaders.Count > 0 && uri.Scheme == Uri.UriSchemeHttp && !grant.AllowSecretsOverHttp)
        {
            throw new ToolException($"MCP server '{server}': secrets are not sent over plain http to {uri.GetLeftPart(UriPartial.Authority)}.", retryable: false);
        }
        foreach (var (header, template) in secretHeaders)
        {
            var value = await secrets.GetAsync(template.Secret, cancellationToken)
                ?? throw new ToolException($"The secret '{template.Secret}' for MCP server '{server}' is not configured.", retryable: false);
            request.Headers.Remove(header);
            request.Headers.TryAddWithoutValidation(header, template.Render(value));
        }
        return await client.SendAsync(request, grant.AllowPrivate, cancellationToken);
    }
}
