using System.Net;
using Agentic.Core.Secrets;
using Agentic.Core.Tools;
using Agentic.Core.Tools.Builtin;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Agentic.Core.Tests.Tools;

public sealed class EgressPolicyTests
{
    private static IConfiguration Configuration(Dictionary<string, string?> values) => new ConfigurationBuilder().AddInMemoryCollection(values).Build();

    private static readonly Dictionary<string, string?> Sample = new()
    {
        ["Agentic:Egress:Allow:0:Host"] = "*.example.com",
        ["Agentic:Egress:Allow:0:Methods:0"] = "GET",
        ["Agentic:Egress:Allow:0:Methods:1"] = "post",
        ["Agentic:Egress:Allow:0:Paths:0"] = "/api/**",
        ["Agentic:Egress:Allow:0:SecretHeaders:Authorization"] = "Bearer {fleet-token}",
        ["Agentic:Egress:Allow:1:Host"] = "status.example.org",
        ["Agentic:Egress:Allow:1:Methods:0"] = "GET",
        ["Agentic:Egress:Allow:1:Paths:0"] = "/v?/status",
        ["Agentic:Egress:Allow:1:SecretHeaders:X-Api-Key"] = "status-key",
    };

    [Theory]
    [InlineData("GET", "https://a.example.com/api/x/y", true)]
    [InlineData("POST", "https://a.b.example.com/api/", true)]
    [InlineData("GET", "https://example.com/api/x", false)]
    [InlineData("GET", "https://a.example.com.evil.net/api/x", false)]
    [InlineData("DELETE", "https://a.example.com/api/x", false)]
    [InlineData("GET", "https://status.example.org/v2/status", true)]
    [InlineData("GET", "https://status.example.org/v10/status", false)]
    [InlineData("GET", "https://STATUS.example.org./v1/status?q=1", true)]
    [InlineData("GET", "ftp://status.example.org/v1/status", false)]
    [InlineData("GET", "https://user:pw@status.example.org/v1/status", false)]
    public void Policy_FromConfiguration_MatchesHostMethodAndPath(string method, string url, bool allowed)
    {
        var policy = EgressPolicy.FromConfiguration(Configuration(Sample));

        Assert.Equal(allowed, policy.IsAllowed(method, new Uri(url), out var reason));
        Assert.Equal(allowed, reason.Length == 0);
    }

    [Theory]
    [InlineData("https://a.example.com/api/x", true)]
    [InlineData("https://a.example.com:443/api/x", true)]
    [InlineData("http://a.example.com/api/x", false)]
    [InlineData("https://a.example.com:8443/api/x", false)]
    [InlineData("http://ops.example.net:8080/hooks/1", true)]
    [InlineData("http://ops.example.net/hooks/1", false)]
    [InlineData("https://ops.example.net:8080/hooks/1", false)]
    public void Policy_MatchesSchemeAndPort_HttpsAnd443UnlessTheRuleSaysOtherwise(string url, bool allowed)
    {
        var policy = EgressPolicy.FromConfiguration(Configuration(new Dictionary<string, string?>(Sample)
        {
            ["Agentic:Egress:Allow:2:Scheme"] = "http",
            ["Agentic:Egress:Allow:2:Host"] = "ops.example.net",
            ["Agentic:Egress:Allow:2:Port"] = "8080",
            ["Agentic:Egress:Allow:2:Methods:0"] = "POST",
            ["Agentic:Egress:Allow:2:Paths:0"] = "/hooks/*",
        }));

        Assert.Equal(allowed, policy.IsAllowed(url.Contains("hooks", StringComparison.Ordinal) ? "POST" : "GET", new Uri(url), out var reason));
        Assert.Equal(allowed ? "" : $"no egress rule allows {new Uri(url).Scheme}://{new Uri(url).Host}:{new Uri(url).Port}", reason);
    }

    [Fact]
    public void SecretHeaders_OverPlainHttp_AreRefusedAtStart_UnlessTheRuleAllowsThem()
    {
        var options = new EgressOptions();
        var rule = new EgressRule { Scheme = "http", Host = "hooks.internal", Port = 8080 };
        rule.Methods.Add("POST");
        rule.Paths.Add("/**");
        rule.SecretHeaders["Authorization"] = "Bearer {hook-token}";
        options.Allow.Add(rule);

        Assert.Equal(["Agentic:Egress:Allow:0:SecretHeaders: secrets are not sent over plain http; use https, or set Agentic:Egress:Allow:0:AllowSecretsOverHttp to true."], options.Validate());
        rule.AllowSecretsOverHttp = true;
        Assert.Empty(options.Validate());
    }

    [Fact]
    public void Policy_DeclaresEverySecretItsRulesReference()
    {
        var policy = EgressPolicy.FromConfiguration(Configuration(Sample));

        Assert.Equal(["fleet-token", "status-key"], policy.SecretNames);
    }

    [Fact]
    public void Options_NameEveryBadSetting()
    {
        var options = new EgressOptions();
        var rule = new EgressRule { Scheme = "ftp", Host = "exa mple.com", Port = 70000 };
        rule.Methods.Add("TRACE");
        rule.Paths.Add("api/*");
        rule.SecretHeaders["Host"] = "Bearer {a}{b}";
        options.Allow.Add(rule);

        Assert.Equal(
        [
            "Agentic:Egress:Allow:0:Scheme: 'ftp' is not 'https' or 'http'.",
            "Agentic:Egress:Allow:0:Host: 'exa mple.com' is not a host name, an IP address or '*.' followed by a domain.",
            "Agentic:Egress:Allow:0:Port: 70000 is not a port (1 to 65535).",
            "Agentic:Egress:Allow:0:Paths: 'api/*' must start with '/'.",
            "Agentic:Egress:Allow:0:Methods: 'TRACE' is not one of GET, HEAD, POST, PUT, PATCH, DELETE.",
            "Agentic:Egress:Allow:0:SecretHeaders: 'Host' can not be set.",
            "Agentic:Egress:Allow:0:SecretHeaders:Host: 'Bearer {a}{b}' must name exactly one secret in braces, like 'Bearer {name}'.",
        ], options.Validate());
        Assert.Throws<ArgumentException>(() => new EgressPolicy(options));
    }

    [Theory]
    [InlineData("127.0.0.1", "loopback")]
    [InlineData("127.9.9.9", "loopback")]
    [InlineData("::1", "loopback")]
    [InlineData("10.0.0.1", "private")]
    [InlineData("172.16.0.1", "private")]
    [InlineData("172.31.255.255", "private")]
    [InlineData("192.168.1.1", "private")]
    [InlineData("fc00::1", "private")]
    [InlineData("fd12:3456::1", "private")]
    [InlineData("169.254.1.1", "link-local")]
    [InlineData("fe80::1", "link-local")]
    [InlineData("0.0.0.0", "unspecified")]
    [InlineData("::", "unspecified")]
    [InlineData("169.254.169.254", "cloud metadata")]
    [InlineData("fd00:ec2::254", "cloud metadata")]
    [InlineData("::ffff:10.0.0.1", "private")]
    [InlineData("::ffff:169.254.169.254", "cloud metadata")]
    [InlineData("168.63.129.16", "cloud metadata")]
    [InlineData("100.100.100.200", "cloud metadata")]
    [InlineData("192.0.0.192", "cloud metadata")]
    [InlineData("::ffff:100.100.100.200", "cloud metadata")]
    [InlineData("::168.63.129.16", "cloud metadata")]
    [InlineData("64:ff9b::169.254.169.254", "cloud metadata")]
    [InlineData("64:ff9b::c000:c0", "cloud metadata")]
    [InlineData("::ffff:127.0.0.1", "loopback")]
    [InlineData("64:ff9b::127.0.0.1", "loopback")]
    [InlineData("64:ff9b::10.0.0.5", "private")]
    [InlineData("::10.0.0.5", "private")]
    [InlineData("64:ff9b::8.8.8.8", null)]
    [InlineData("100.64.0.1", "shared")]
    [InlineData("172.32.0.1", null)]
    [InlineData("8.8.8.8", null)]
    [InlineData("2606:4700::1111", null)]
    public void Addresses_AreClassified(string address, string? kind) =>
        Assert.Equal(kind, EgressAddresses.Classify(IPAddress.Parse(address)));

    [Fact]
    public void Core_RegistersTheBuiltInToolsNextToTheSampleTools_FromTheHostsConfiguration()
    {
        var services = new ServiceCollection();
        services.AddSingleton(Configuration(new Dictionary<string, string?>(Sample)
        {
            ["Agentic:Notify:Channels:ops:Url"] = "https://hooks.example.com/ops",
            ["Agentic:Secrets:fleet-token"] = "t",
        }));
        services.AddAgenticCore();
        using var provider = services.BuildServiceProvider();

        var registry = provider.GetRequiredService<ToolRegistry>();

        Assert.Equal(
            ["contract.record", "http.request", "notify.webhook", "sample.diagnostics", "sample.health", "sample.restart", "sample.scale"],
            registry.Descriptors.Select(d => d.Name));
        Assert.True(registry.TryResolve("http.request", out var http));
        Assert.Equal(["fleet-token", "status-key"], http.Descriptor.Secrets);
        Assert.IsType<ConfigurationSecretProvider>(provider.GetRequiredService<ISecretProvider>());
        Assert.NotNull(provider.GetRequiredService<ToolExecutor>());
    }

    [Fact]
    public void Core_WithoutAnyConfiguration_StillBuildsTheRegistry()
    {
        var services = new ServiceCollection();
        services.AddAgenticCore();
        using var provider = services.BuildServiceProvider();

        var registry = provider.GetRequiredService<ToolRegistry>();

        Assert.True(registry.TryResolve("http.request", out var http));
        Assert.Null(http.Descriptor.Secrets);
    }

    [Fact]
    public void Core_AHostsOwnRegistry_ReplacesTheDefault()
    {
        var services = new ServiceCollection();
        var own = new ToolRegistry([]);
        services.AddSingleton(own);
        services.AddAgenticCore();
        using var provider = services.BuildServiceProvider();

        Assert.Same(own, provider.GetRequiredService<ToolRegistry>());
    }

    [Fact]
    public void Core_ABadEgressSetting_FailsOptionsValidationNamingIt()
    {
        var services = new ServiceCollection();
        services.AddSingleton(Configuration(new Dictionary<string, string?> { ["Agentic:Egress:Allow:0:Host"] = "api.example.com" }));
        services.AddAgenticCore();
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<EgressOptions>>().Value);

        Assert.Contains("Agentic:Egress:Allow:0:Methods: at least one method is required.", ex.Failures);
        Assert.Contains("Agentic:Egress:Allow:0:Paths: at least one path glob is required ('/**' allows every path).", ex.Failures);
    }
}
