using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Agentic.Core.Agents;
using Agentic.Core.Json;

namespace Agentic.Runtime.Tests.Infrastructure;

/// <summary>
/// A canary secret and an agent that reads one URL with <c>http.request</c>, for tests that have a loopback service echo
/// the secret back (the egress rule injects it as a header) and then look for it everywhere it must not be.
/// </summary>
internal static class CanaryEcho
{
    /// <summary>The secret: characters that every encoding below changes.</summary>
    public const string Canary = "Canary/7+Secret&Value=42\"q~Zx";

    /// <summary>An agent whose one step reads <c>parameters.url</c>.</summary>
    public static AgentCatalog Agent { get; } = new(
    [
        new("echo", "Reads the URL in parameters.url.", input => new Plan("scripted:echo",
            [new("s1", "http.request", AgenticJson.ToElement(new { method = "GET", url = input.Parameters!.Value.GetProperty("url").GetString() }), "Read it.")],
            ExpectHealthy: false, "One read.")) { Autonomy = Autonomy.Autonomous },
    ]);

    /// <summary>Egress to the echo service at <paramref name="serverUrl"/> (plain http on loopback, said explicitly), with the canary as its <c>X-Canary</c> header.</summary>
    public static Dictionary<string, string?> Settings(string serverUrl) => new()
    {
        ["Agentic:Egress:Allow:0:Scheme"] = "http",
        ["Agentic:Egress:Allow:0:Host"] = "127.0.0.1",
        ["Agentic:Egress:Allow:0:Port"] = new Uri(serverUrl).Port.ToString(CultureInfo.InvariantCulture),
        ["Agentic:Egress:Allow:0:AllowSecretsOverHttp"] = "true",
        ["Agentic:Egress:Allow:0:Methods:0"] = "GET",
        ["Agentic:Egress:Allow:0:Paths:0"] = "/api/**",
        ["Agentic:Egress:Allow:0:AllowPrivate"] = "true",
        ["Agentic:Egress:Allow:0:SecretHeaders:X-Canary"] = "canary",
        ["Agentic:Secrets:canary"] = Canary,
    };

    /// <summary>Every form the service echoes, by name: what must not appear anywhere.</summary>
    public static Dictionary<string, string> Forms(string secret)
    {
        var forms = new Dictionary<string, string>
        {
            ["exact"] = secret,
            ["upper"] = secret.ToUpperInvariant(),
            ["lower"] = secret.ToLowerInvariant(),
            ["base64"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(secret)),
            ["base64url"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(secret)).TrimEnd('=').Replace('+', '-').Replace('/', '_'),
            ["url"] = Uri.EscapeDataString(secret),
            ["form"] = WebUtility.UrlEncode(secret),
            ["json"] = JsonEncodedText.Encode(secret).ToString(),
        };
        for (var shift = 0; shift < 3; shift++)
        {
            // A token inside a larger base64 document, at each of the three alignments.
            var blob = Convert.ToBase64String(Encoding.UTF8.GetBytes(new string('x', shift) + "{\"user\":\"bob\",\"token\":\"" + secret + "\",\"scope\":\"all\"}"));
            forms[$"blob{shift}"] = blob;
        }
        return forms;
    }
}
