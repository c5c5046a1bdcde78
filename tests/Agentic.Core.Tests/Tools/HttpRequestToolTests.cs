using System.Net;
using System.Text.Json;
using Agentic.Core.Tools;
using Agentic.Core.Tools.Builtin;
using Agentic.Testing;
using SideEffect = Agentic.Core.Tools.SideEffect;

namespace Agentic.Core.Tests.Tools;

/// <summary><c>http.request</c> against a real HTTP server on 127.0.0.1: what it sends, what it refuses, what it returns.</summary>
public sealed class HttpRequestToolTests : IDisposable
{
    private const string Secret = "s3cr3t-fleet-value-42";

    // Every name resolves from this table and every connection stays on loopback, whatever the tool does.
    private readonly LoopbackOnlyNetwork _network = new();
    private readonly EgressClient _client;

    public HttpRequestToolTests() => _client = new EgressClient(_network.ResolveAsync, _network.ConnectAsync);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        _client.Dispose();
        Assert.Empty(_network.Violations);
    }

    internal static EgressRule Rule(
        string host, string[] methods, string[] paths, bool allowPrivate = true, IDictionary<string, string>? secretHeaders = null, string scheme = "http", int? port = null, bool? secretsOverHttp = null)
    {
        var rule = new EgressRule { Scheme = scheme, Host = host, Port = port, AllowPrivate = allowPrivate, AllowSecretsOverHttp = secretsOverHttp ?? secretHeaders is not null };
        foreach (var m in methods)
        {
            rule.Methods.Add(m);
        }
        foreach (var p in paths)
        {
            rule.Paths.Add(p);
        }
        foreach (var (header, secret) in secretHeaders ?? new Dictionary<string, string>())
        {
            rule.SecretHeaders[header] = secret;
        }
        return rule;
    }

    internal static EgressPolicy Policy(params EgressRule[] rules)
    {
        var options = new EgressOptions();
        foreach (var rule in rules)
        {
            options.Allow.Add(rule);
        }
        return new EgressPolicy(options);
    }

    private HttpRequestTool Tool(params EgressRule[] rules) => new(Policy(rules), _client);

    private static Task<ToolOutcome> InvokeAsync(HttpRequestTool tool, object args, IReadOnlyDictionary<string, string>? secrets = null) =>
        tool.InvokeAsync(new ToolCall("run-1", "s1", "", JsonSerializer.SerializeToElement(args), "run-1/s1") { Secrets = secrets ?? new Dictionary<string, string>() }, Ct);

    private static EgressRule Local(LoopbackServer server, string[]? methods = null, string[]? paths = null, bool allowPrivate = true, IDictionary<string, string>? secretHeaders = null) =>
        Local(server.Port, methods, paths, allowPrivate, secretHeaders);

    private static EgressRule Local(int port, string[]? methods = null, string[]? paths = null, bool allowPrivate = true, IDictionary<string, string>? secretHeaders = null) =>
        Rule("127.0.0.1", methods ?? ["GET", "POST"], paths ?? ["/api/**"], allowPrivate, secretHeaders, port: port);

    [Fact]
    public async Task AllowedCall_SendsMethodBodyAndHeaders_AndReturnsStatusSafeHeadersAndJsonBody()
    {
        await using var server = LoopbackServer.Json("""{"ok":true,"items":[1,2]}""");
        var tool = Tool(Local(server));

        var outcome = await InvokeAsync(tool, new { method = "POST", url = server.Url + "/api/items?x=1", headers = new Dictionary<string, string> { ["X-Trace"] = "t-1" }, body = new { name = "a" } });

        var seen = Assert.Single(server.Requests);
        Assert.Equal(("POST", "/api/items"), (seen.Method, seen.Path));
        Assert.Equal("t-1", seen.Headers["X-Trace"]);
        Assert.Equal("""{"name":"a"}""", seen.Body);
        Assert.StartsWith("application/json", seen.Headers["Content-Type"], StringComparison.Ordinal);
        Assert.Equal(200, outcome.StatusCode);
        Assert.Equal(200, outcome.Output.GetProperty("status").GetInt32());
        Assert.True(outcome.Output.GetProperty("body").GetProperty("ok").GetBoolean());
        Assert.Equal("application/json", outcome.Output.GetProperty("headers").GetProperty("content-type").GetString());
        Assert.False(outcome.Output.TryGetProperty("truncated", out _));
        Assert.Equal($"POST {server.Url}/api/items answered 200", outcome.Summary);
        Assert.Empty(new ToolRegistry([tool]).ValidateOutput(HttpRequestTool.Name, outcome.Output));
    }

    [Fact]
    public async Task TextBody_IsReturnedAsAString()
    {
        await using var server = LoopbackServer.Start(c => LoopbackServer.WriteAsync(c, 200, "text/plain", "hello"));

        var outcome = await InvokeAsync(Tool(Local(server)), new { method = "GET", url = server.Url + "/api/hello" });

        Assert.Equal("hello", outcome.Output.GetProperty("body").GetString());
    }

    [Fact]
    public async Task HostNotOnTheList_IsRefusedBeforeAnyRequest()
    {
        await using var server = LoopbackServer.Json("{}");

        var ex = await Assert.ThrowsAsync<ToolException>(() => InvokeAsync(Tool(Rule("api.example.com", ["GET"], ["/**"])), new { method = "GET", url = server.Url + "/api/x" }));

        Assert.False(ex.Retryable);
        Assert.Equal($"http.request refused GET {server.Url}/api/x: no egress rule allows {server.Url}.", ex.Message);
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task MethodNotAllowedOnTheHost_IsRefused()
    {
        await using var server = LoopbackServer.Json("{}");

        var ex = await Assert.ThrowsAsync<ToolException>(() => InvokeAsync(Tool(Local(server, methods: ["GET", "HEAD"])), new { method = "DELETE", url = server.Url + "/api/x" }));

        Assert.False(ex.Retryable);
        Assert.EndsWith($"no egress rule allows DELETE on {server.Url} (allowed: GET, HEAD).", ex.Message, StringComparison.Ordinal);
        Assert.Empty(server.Requests);
    }

    [Theory]
    [InlineData("/admin/users")]
    [InlineData("/api/items/1")]
    [InlineData("/api")]
    public async Task PathNotMatchingTheGlobs_IsRefused(string path)
    {
        await using var server = LoopbackServer.Json("{}");

        var ex = await Assert.ThrowsAsync<ToolException>(() => InvokeAsync(Tool(Local(server, paths: ["/api/*"])), new { method = "GET", url = server.Url + path }));

        Assert.EndsWith($"no egress rule allows the path '{path}' for GET on {server.Url} (allowed: /api/*).", ex.Message, StringComparison.Ordinal);
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task EncodedSlashInThePath_IsRefused()
    {
        await using var server = LoopbackServer.Json("{}");

        var ex = await Assert.ThrowsAsync<ToolException>(() => InvokeAsync(Tool(Local(server, paths: ["/api/*"])), new { method = "GET", url = server.Url + "/api/..%2Fadmin" }));

        Assert.Contains("encodes '/', '\\' or '.'", ex.Message, StringComparison.Ordinal);
        Assert.Empty(server.Requests);
    }

    [Theory]
    [InlineData("127.0.0.1", "loopback")]
    [InlineData("localhost", "loopback")]
    public async Task PrivateAddress_IsRefusedWithoutAllowPrivate(string host, string kind)
    {
        await using var server = LoopbackServer.Json("{}");

        var ex = await Assert.ThrowsAsync<ToolException>(() => InvokeAsync(
            Tool(Rule(host, ["GET"], ["/**"], allowPrivate: false, port: server.Port)), new { method = "GET", url = $"http://{host}:{server.Port}/api/x" }));

        Assert.False(ex.Retryable);
        Assert.Contains($"a {kind} address, and no rule allows private addresses for it", ex.Message, StringComparison.Ordinal);
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task NameResolvingToAPublicAndAPrivateAddress_IsRefused()
    {
        _network.Map("rebind.example", "198.51.100.7", "10.1.2.3");
        var tool = Tool(Rule("rebind.example", ["GET"], ["/**"], allowPrivate: false));

        var ex = await Assert.ThrowsAsync<ToolException>(() => InvokeAsync(tool, new { method = "GET", url = "http://rebind.example/x" }));

        Assert.Equal("http.request refused GET http://rebind.example/x: 'rebind.example' resolves to 10.1.2.3, a private address, and no rule allows private addresses for it.", ex.Message);
    }

    [Theory]
    [InlineData("169.254.169.254")]
    [InlineData("[::ffff:169.254.169.254]")]
    [InlineData("[fd00:ec2::254]")]
    [InlineData("168.63.129.16")]
    [InlineData("100.100.100.200")]
    [InlineData("192.0.0.192")]
    [InlineData("[::ffff:168.63.129.16]")]
    [InlineData("[::169.254.169.254]")]
    [InlineData("[64:ff9b::169.254.169.254]")]
    [InlineData("[64:ff9b::a83f:8110]")]
    public async Task MetadataAddress_IsRefusedEvenAsALiteralAndEvenWithAllowPrivate(string host)
    {
        var tool = Tool(Rule(host, ["GET"], ["/**"], allowPrivate: true));

        var ex = await Assert.ThrowsAsync<ToolException>(() => InvokeAsync(tool, new { method = "GET", url = $"http://{host}/latest/meta-data/" }));

        Assert.False(ex.Retryable);
        Assert.Contains("a cloud metadata address, which is never allowed", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MetadataName_IsRefusedWhenItResolvesToTheMetadataAddress()
    {
        _network.Map("metadata.google.internal", "169.254.169.254");
        var tool = Tool(Rule("metadata.google.internal", ["GET"], ["/**"], allowPrivate: true));

        var ex = await Assert.ThrowsAsync<ToolException>(() => InvokeAsync(tool, new { method = "GET", url = "http://metadata.google.internal/computeMetadata/v1/" }));

        Assert.Contains("resolves to 169.254.169.254, a cloud metadata address", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RedirectToAnAllowedPath_IsFollowed()
    {
        await using var server = LoopbackServer.Start(c => c.Request.Url!.AbsolutePath == "/api/old"
            ? Task.Run(() => LoopbackServer.Redirect(c, 302, "/api/new"))
            : LoopbackServer.WriteAsync(c, 200, "application/json", """{"at":"new"}"""));

        var outcome = await InvokeAsync(Tool(Local(server)), new { method = "GET", url = server.Url + "/api/old" });

        Assert.Equal("new", outcome.Output.GetProperty("body").GetProperty("at").GetString());
        Assert.Equal(["/api/old", "/api/new"], server.Requests.Select(r => r.Path));
        Assert.Equal($"GET {server.Url}/api/new answered 200", outcome.Summary);
    }

    [Fact]
    public async Task PostRedirectedWith303_ContinuesAsAGetWithoutTheBody()
    {
        await using var server = LoopbackServer.Start(c => c.Request.Url!.AbsolutePath == "/api/submit"
            ? Task.Run(() => LoopbackServer.Redirect(c, 303, "/api/result"))
            : LoopbackServer.WriteAsync(c, 200, "application/json", "{}"));

        await InvokeAsync(Tool(Local(server)), new { method = "POST", url = server.Url + "/api/submit", body = new { a = 1 } });

        Assert.Equal([("POST", "/api/submit", """{"a":1}"""), ("GET", "/api/result", "")], server.Requests.Select(r => (r.Method, r.Path, r.Body)));
    }

    [Fact]
    public async Task RedirectOffTheList_IsRefusedWithItsLocation()
    {
        await using var server = LoopbackServer.Start(c => c.Request.Url!.AbsolutePath == "/api/go"
            ? Task.Run(() => LoopbackServer.Redirect(c, 302, "/admin/secret?x=1"))
            : LoopbackServer.WriteAsync(c, 200, "application/json", "{}"));

        var ex = await Assert.ThrowsAsync<ToolException>(() => InvokeAsync(Tool(Local(server)), new { method = "GET", url = server.Url + "/api/go" }));

        Assert.False(ex.Retryable);
        // The redirect's query string (which may carry a token) is not repeated.
        Assert.Equal($"http.request refused the redirect to {server.Url}/admin/secret: no egress rule allows the path '/admin/secret' for GET on {server.Url} (allowed: /api/**).", ex.Message);
        Assert.Equal(["/api/go"], server.Requests.Select(r => r.Path));
    }

    [Fact]
    public async Task RedirectToTheMetadataAddress_IsRefused()
    {
        await using var server = LoopbackServer.Start(c => Task.Run(() => LoopbackServer.Redirect(c, 307, "http://169.254.169.254/latest/meta-data/")));
        var tool = Tool(Local(server), Rule("169.254.169.254", ["GET"], ["/**"], allowPrivate: true));

        var ex = await Assert.ThrowsAsync<ToolException>(() => InvokeAsync(tool, new { method = "GET", url = server.Url + "/api/go" }));

        Assert.StartsWith("http.request refused the redirect to http://169.254.169.254/latest/meta-data/: ", ex.Message, StringComparison.Ordinal);
        Assert.Contains("cloud metadata", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RedirectToAnotherOrigin_DropsTheCredentialsTheArgumentsCarried()
    {
        await using var target = LoopbackServer.Json("{}");
        await using var origin = LoopbackServer.Start(c => Task.Run(() => LoopbackServer.Redirect(c, 307, target.Url + "/api/land")));

        await InvokeAsync(Tool(Local(origin), Local(target)), new
        {
            method = "GET",
            url = origin.Url + "/api/go",
            headers = new Dictionary<string, string> { ["Authorization"] = "Bearer for-origin", ["X-Trace"] = "t-2" },
        });

        Assert.Equal("Bearer for-origin", Assert.Single(origin.Requests).Headers["Authorization"]);
        var landed = Assert.Single(target.Requests);
        Assert.False(landed.Headers.ContainsKey("Authorization"));
        Assert.Equal("t-2", landed.Headers["X-Trace"]);
    }

    [Fact]
    public async Task RedirectToAnotherPort_DropsTheRulesSecretHeader()
    {
        await using var target = LoopbackServer.Json("{}");
        await using var origin = LoopbackServer.Start(c => Task.Run(() => LoopbackServer.Redirect(c, 307, target.Url + "/api/land")));
        var secret = new Dictionary<string, string> { ["Authorization"] = "Bearer {fleet-token}" };

        await InvokeAsync(Tool(Local(origin, secretHeaders: secret), Local(target, secretHeaders: secret)),
            new { method = "GET", url = origin.Url + "/api/go" }, new Dictionary<string, string> { ["fleet-token"] = Secret });

        Assert.Equal("Bearer " + Secret, Assert.Single(origin.Requests).Headers["Authorization"]);
        Assert.False(Assert.Single(target.Requests).Headers.ContainsKey("Authorization"), "A secret went to another port after a redirect.");
    }

    [Fact]
    public async Task RedirectToAnotherHost_DropsTheRulesSecretHeader()
    {
        // 127.0.0.1 and localhost are one server but two hosts: the secret was given for the first.
        await using var server = LoopbackServer.Start(c => c.Request.Url!.AbsolutePath == "/api/go"
            ? Task.Run(() => LoopbackServer.Redirect(c, 302, $"http://localhost:{c.Request.Url.Port}/api/land"))
            : LoopbackServer.WriteAsync(c, 200, "application/json", "{}"));
        var secret = new Dictionary<string, string> { ["X-Api-Key"] = "fleet-key" };
        var tool = Tool(Local(server, secretHeaders: secret), Rule("localhost", ["GET"], ["/api/**"], allowPrivate: true, secretHeaders: secret, port: server.Port));

        await InvokeAsync(tool, new { method = "GET", url = server.Url + "/api/go" }, new Dictionary<string, string> { ["fleet-key"] = Secret });

        Assert.Equal(["/api/go", "/api/land"], server.Requests.Select(r => r.Path));
        Assert.Equal([Secret, null], server.Requests.Select(r => r.Headers.GetValueOrDefault("X-Api-Key")));
        Assert.Equal("localhost", _network.Lookups.Single());
    }

    [Theory]
    [InlineData("http://127.0.0.1:8080/api/a", "http://127.0.0.1:8080/api/b?x=1", true)]
    [InlineData("https://api.example.com/a", "https://API.example.com:443/b", true)]
    [InlineData("https://api.example.com/a", "http://api.example.com/a", false)]
    [InlineData("http://api.example.com/a", "https://api.example.com/a", false)]
    [InlineData("https://api.example.com/a", "https://other.example.com/a", false)]
    [InlineData("https://api.example.com/a", "https://api.example.com:8443/a", false)]
    public void SecretHeaders_FollowOnlyTheOriginalSchemeHostAndPort(string original, string hop, bool carried) =>
        Assert.Equal(carried, HttpRequestTool.SameOrigin(new Uri(hop), new Uri(original)));

    [Fact]
    public async Task RuleForAnotherScheme_DoesNotAllowTheCall()
    {
        await using var server = LoopbackServer.Json("{}");

        var ex = await Assert.ThrowsAsync<ToolException>(() => InvokeAsync(
            Tool(Rule("127.0.0.1", ["GET"], ["/**"], scheme: "https", port: server.Port)), new { method = "GET", url = server.Url + "/api/x" }));

        Assert.EndsWith($"no egress rule allows {server.Url}.", ex.Message, StringComparison.Ordinal);
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task SameHostOnAnotherPort_IsNotAllowedByTheRule()
    {
        await using var server = LoopbackServer.Json("{}");
        await using var other = LoopbackServer.Json("{}");

        var ex = await Assert.ThrowsAsync<ToolException>(() => InvokeAsync(Tool(Local(server)), new { method = "GET", url = other.Url + "/api/x" }));

        Assert.EndsWith($"no egress rule allows {other.Url}.", ex.Message, StringComparison.Ordinal);
        Assert.Empty(other.Requests);
    }

    [Theory]
    [InlineData("http://10.0.0.5/api/x?token=abc", "'10.0.0.5' resolves to 10.0.0.5, a private address")]
    [InlineData("http://inside.example/api/x?token=abc", "'inside.example' resolves to 10.0.0.5, a private address")]
    public async Task RedirectToAPrivateAddress_IsRefused_WithoutItsQuery_AndNothingIsFetched(string location, string reason)
    {
        _network.Map("inside.example", "10.0.0.5");
        await using var server = LoopbackServer.Start(c => Task.Run(() => LoopbackServer.Redirect(c, 302, location)));
        var tool = Tool(Local(server), Rule(new Uri(location).Host, ["GET"], ["/api/**"], allowPrivate: false));

        var ex = await Assert.ThrowsAsync<ToolException>(() => InvokeAsync(tool, new { method = "GET", url = server.Url + "/api/go" }));

        Assert.False(ex.Retryable);
        Assert.StartsWith($"http.request refused the redirect to {location[..location.IndexOf('?', StringComparison.Ordinal)]}: {reason}", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("token", ex.Message, StringComparison.Ordinal);
        Assert.All(_network.Connections, c => Assert.Equal(server.Port, c.Port));
    }

    [Fact]
    public async Task NullBody_OnAGet_IsNoBody()
    {
        await using var server = LoopbackServer.Json("{}");

        var outcome = await InvokeAsync(Tool(Local(server)), new { method = "GET", url = server.Url + "/api/x", body = (object?)null });

        Assert.Equal(200, outcome.StatusCode);
        Assert.Equal("", Assert.Single(server.Requests).Body);
    }

    [Fact]
    public async Task RedirectLoop_StopsAfterFiveHops()
    {
        await using var server = LoopbackServer.Start(c => Task.Run(() => LoopbackServer.Redirect(c, 302, "/api/loop")));

        var ex = await Assert.ThrowsAsync<ToolException>(() => InvokeAsync(Tool(Local(server)), new { method = "GET", url = server.Url + "/api/loop" }));

        Assert.Equal($"http.request: GET {server.Url}/api/loop redirected more than 5 times.", ex.Message);
        Assert.Equal(6, server.Requests.Count);
    }

    [Fact]
    public async Task SecretHeader_IsInjected_AndItsValueNeverAppearsInTheOutput()
    {
        // A service that echoes what it was sent: the worst case for a secret.
        await using var server = LoopbackServer.Start(c =>
        {
            var auth = c.Request.Headers["Authorization"] ?? "";
            c.Response.Headers["Location"] = "/api/echo?token=" + auth[7..];
            return LoopbackServer.WriteAsync(c, 201, "application/json", JsonSerializer.Serialize(new { echoed = auth, nested = new[] { new Dictionary<string, string> { [auth] = auth } } }));
        });
        var rule = Local(server, secretHeaders: new Dictionary<string, string> { ["Authorization"] = "Bearer {fleet-token}" });
        var executor = new ToolExecutor(new MemorySecrets(("fleet-token", Secret)), TimeProvider.System);
        var tool = Tool(rule);

        var outcome = await executor.InvokeAsync(tool, new ToolCall("run-1", "s1", "", JsonSerializer.SerializeToElement(new { method = "GET", url = server.Url + "/api/echo" }), "run-1/s1"), Ct);

        Assert.Equal(["fleet-token"], tool.Descriptor.Secrets);
        Assert.Equal("Bearer " + Secret, Assert.Single(server.Requests).Headers["Authorization"]);
        var raw = outcome.Output.GetRawText();
        Assert.DoesNotContain(Secret, raw, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, outcome.Summary, StringComparison.Ordinal);
        Assert.Equal("Bearer [redacted]", outcome.Output.GetProperty("body").GetProperty("echoed").GetString());
        Assert.Equal("/api/echo?token=[redacted]", outcome.Output.GetProperty("headers").GetProperty("location").GetString());
    }

    [Fact]
    public async Task SecretValue_NeverAppearsInAnErrorMessage()
    {
        await using var server = LoopbackServer.Start(c => LoopbackServer.WriteAsync(c, 502, "text/plain", "upstream rejected " + c.Request.Headers["X-Api-Key"]));
        var rule = Local(server, secretHeaders: new Dictionary<string, string> { ["X-Api-Key"] = "fleet-key" });

        var ex = await Assert.ThrowsAsync<ToolException>(() => InvokeAsync(Tool(rule), new { method = "GET", url = server.Url + "/api/x" }, new Dictionary<string, string> { ["fleet-key"] = Secret }));

        Assert.True(ex.Retryable);
        Assert.Equal(Secret, Assert.Single(server.Requests).Headers["X-Api-Key"]);
        Assert.DoesNotContain(Secret, ex.Message, StringComparison.Ordinal);
        // Neither the secret nor anything else of the error body comes back: the status, a digest, its size.
        Assert.DoesNotContain("upstream rejected", ex.Message, StringComparison.Ordinal);
        Assert.Matches(@"answered 502 Bad Gateway \(body sha256:[0-9a-f]{12}, \d+ bytes\)$", ex.Message);
    }

    [Theory]
    [InlineData("Authorization")]
    [InlineData("authorization")]
    public async Task ArgumentHeader_CanNotOverrideASecretHeader(string header)
    {
        await using var server = LoopbackServer.Json("{}");
        var rule = Local(server, secretHeaders: new Dictionary<string, string> { ["Authorization"] = "Bearer {fleet-token}" });

        var ex = await Assert.ThrowsAsync<ToolException>(() => InvokeAsync(Tool(rule),
            new { method = "GET", url = server.Url + "/api/x", headers = new Dictionary<string, string> { [header] = "Bearer forged" } },
            new Dictionary<string, string> { ["fleet-token"] = Secret }));

        Assert.False(ex.Retryable);
        Assert.Equal($"http.request refused the request: the header '{header}' is set by the egress policy from a secret and can not be given in arguments.", ex.Message);
        Assert.Empty(server.Requests);
    }

    [Theory]
    [InlineData("Host")]
    [InlineData("Content-Length")]
    [InlineData("Transfer-Encoding")]
    public async Task ArgumentHeader_CanNotSetFraming(string header)
    {
        await using var server = LoopbackServer.Json("{}");

        var ex = await Assert.ThrowsAsync<ToolException>(() => InvokeAsync(Tool(Local(server)),
            new { method = "POST", url = server.Url + "/api/x", headers = new Dictionary<string, string> { [header] = "1" }, body = new { } }));

        Assert.Equal($"http.request refused the request: the header '{header}' can not be set.", ex.Message);
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task MissingSecret_WhenCalledWithoutTheExecutor_IsRefusedBeforeSending()
    {
        await using var server = LoopbackServer.Json("{}");
        var rule = Local(server, secretHeaders: new Dictionary<string, string> { ["Authorization"] = "fleet-token" });

        var ex = await Assert.ThrowsAsync<ToolException>(() => InvokeAsync(Tool(rule), new { method = "GET", url = server.Url + "/api/x" }));

        Assert.Equal("http.request was not given the secret 'fleet-token' its egress rule needs; call it through the tool executor.", ex.Message);
        Assert.Empty(server.Requests);
    }

    [Theory]
    [InlineData(503, true)]
    [InlineData(429, true)]
    [InlineData(408, true)]
    [InlineData(404, false)]
    [InlineData(400, false)]
    public async Task NonSuccess_IsRetryableOnlyFor5xx429And408(int status, bool retryable)
    {
        await using var server = LoopbackServer.Json("""{"error":"x"}""", status);

        var ex = await Assert.ThrowsAsync<ToolException>(() => InvokeAsync(Tool(Local(server)), new { method = "GET", url = server.Url + "/api/x" }));

        Assert.Equal(retryable, ex.Retryable);
        Assert.Contains($"answered {status}", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LargeBody_IsTruncatedSoTheOutputFitsTheCap()
    {
        var big = string.Concat(Enumerable.Repeat("line \"quoted\" \n", 20_000));
        await using var server = LoopbackServer.Start(c => LoopbackServer.WriteAsync(c, 200, "text/plain", big));
        var tool = Tool(Local(server));

        var outcome = await InvokeAsync(tool, new { method = "GET", url = server.Url + "/api/big" });

        Assert.True(outcome.Output.GetProperty("truncated").GetBoolean());
        Assert.InRange(System.Text.Encoding.UTF8.GetByteCount(outcome.Output.GetRawText()), tool.Descriptor.MaxOutputBytes / 2, tool.Descriptor.MaxOutputBytes);
        Assert.StartsWith("line \"quoted\" \n", outcome.Output.GetProperty("body").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Descriptor_IsTheBuiltInContract()
    {
        var tool = Tool(Local(8080, secretHeaders: new Dictionary<string, string> { ["Authorization"] = "Bearer {b-token}", ["X-Key"] = "a-token" }));
        var d = tool.Descriptor;

        Assert.Equal(("http.request", "1.0.0", RiskLevel.Medium, SideEffect.Irreversible, false, 30.0), (d.Name, d.Version, d.Risk, d.SideEffect, d.Idempotent, d.Timeout.TotalSeconds));
        Assert.Equal(["a-token", "b-token"], d.Secrets);
        Assert.Equal(["network"], d.Tags);
        var registry = new ToolRegistry([tool]);
        Assert.Empty(registry.ValidateArguments(d.Name, TestJson.Parse("""{"method":"PATCH","url":"https://a.example/x","headers":{"A":"b"},"body":[1]}""")));
        Assert.Equal(["$.extra: property is not allowed"], registry.ValidateArguments(d.Name, TestJson.Parse("""{"method":"GET","url":"https://a.example/x","extra":1}""")));
        Assert.Equal(["$.method: expected one of [\"GET\", \"HEAD\", \"POST\", \"PUT\", \"PATCH\", \"DELETE\"], got \"TRACE\""], registry.ValidateArguments(d.Name, TestJson.Parse("""{"method":"TRACE","url":"https://a.example/x"}""")));
        Assert.Equal(["$.url: expected a string matching '^https?://', got \"file:///etc/passwd\""], registry.ValidateArguments(d.Name, TestJson.Parse("""{"method":"GET","url":"file:///etc/passwd"}""")));
    }
}
