using System.Text;
using Agentic.Core.Agents;
using Agentic.Core.Runs;
using Agentic.Core.Tools.Builtin;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Agentic.Core.Tests.Runs;

/// <summary>
/// Run targets at submission: a deployment allows the sample fleet on 127.0.0.1:7072 (a private address it allows on
/// purpose); every other target is refused with a reason that names the rule set. Nothing here opens a connection.
/// </summary>
public sealed class RunTargetTests
{
    private const string Fleet = "http://127.0.0.1:7072/services/checkout";

    private static readonly RunAdmission Deployment = Admissions.For("dev", rules: Admissions.Rule("http", "127.0.0.1", 7072, "/services/**", allowPrivate: true));

    private static RunRequest Parse(string target, RunAdmission? admission = null, string agent = "diagnostics") =>
        RunRequestParser.Parse(Encoding.UTF8.GetBytes($$"""{"agent":"{{agent}}","target":"{{target}}"}"""), "alice", admission ?? Deployment);

    private static string Refusal(string target, RunAdmission? admission = null, string agent = "diagnostics")
    {
        var error = Assert.Throws<InputException>(() => Parse(target, admission, agent));
        Assert.Equal("Invalid run request", error.Title);
        var only = Assert.Single(error.Errors);
        Assert.Equal("target", only.Field);
        return only.Message;
    }

    [Fact]
    public void TheFleetsService_IsAllowed()
    {
        Assert.Equal(Fleet, Parse(Fleet).Target);
    }

    [Theory]
    [InlineData("http://127.0.0.1:10000/services/checkout", "http://127.0.0.1:10000")]
    [InlineData("https://127.0.0.1:7072/services/checkout", "https://127.0.0.1:7072")]
    [InlineData("http://10.0.0.5:7072/services/checkout", "http://10.0.0.5:7072")]
    [InlineData("http://169.254.169.254/latest/meta-data/", "http://169.254.169.254:80")]
    [InlineData("http://[::ffff:127.0.0.1]:7072/services/checkout", "http://[::ffff:127.0.0.1]:7072")]
    [InlineData("http://[64:ff9b::7f00:1]:7072/services/checkout", "http://[64:ff9b::7f00:1]:7072")]
    [InlineData("http://fleet.internal:7072/services/checkout", "http://fleet.internal:7072")]
    public void Target_ThatNoRuleAllows_IsRefusedNamingTheRuleSet(string target, string origin)
    {
        Assert.Equal($"'{target}' is not an allowed run target: no rule of Agentic:Targets:Allow allows {origin}.", Refusal(target));
    }

    [Theory]
    [InlineData("http://2130706433:7072/services/checkout")]
    [InlineData("http://0177.0.0.1:7072/services/checkout")]
    [InlineData("http://0x7f.0.0.1:7072/services/checkout")]
    [InlineData("http://0x7f000001:7072/services/checkout")]
    public void LoopbackWrittenInDecimalOctalOrHex_IsTheLoopbackAddress_AndNothingMore(string target)
    {
        // The same address and port as the rule: the deployment allows exactly that, however it is spelled.
        Assert.Equal("127.0.0.1", new Uri(Parse(target).Target).Host);
        Assert.EndsWith("no rule of Agentic:Targets:Allow allows http://127.0.0.1:7073.", Refusal(target.Replace(":7072", ":7073", StringComparison.Ordinal)), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://167772165/services/x")]
    [InlineData("http://012.0.0.5/services/x")]
    [InlineData("http://0xa.0.0.5/services/x")]
    [InlineData("http://0x0a000005/services/x")]
    public void PrivateAddressWrittenInDecimalOctalOrHex_IsRefusedAsThatAddress(string target)
    {
        Assert.EndsWith("no rule of Agentic:Targets:Allow allows http://10.0.0.5:80.", Refusal(target), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://10.0.0.5/services/x", "10.0.0.5 is a private address, and no rule allows private addresses for it")]
    [InlineData("http://127.0.0.1/services/x", "127.0.0.1 is a loopback address, and no rule allows private addresses for it")]
    [InlineData("http://[::ffff:127.0.0.1]/services/x", "::ffff:127.0.0.1 is a loopback address, and no rule allows private addresses for it")]
    [InlineData("http://[64:ff9b::a00:5]/services/x", "64:ff9b::a00:5 is a private address, and no rule allows private addresses for it")]
    public void AddressLiteral_ThatIsPrivate_IsRefusedUnlessTheRuleAllowsPrivateAddresses(string target, string reason)
    {
        var host = new Uri(target).Host.Trim('[', ']');
        var admission = Admissions.For("dev", rules: Admissions.Rule("http", host, 80, "/services/**", allowPrivate: false));

        Assert.Equal($"'{target}' is not an allowed run target: {reason}.", Refusal(target, admission));
    }

    [Theory]
    [InlineData("169.254.169.254")]
    [InlineData("168.63.129.16")]
    [InlineData("100.100.100.200")]
    [InlineData("192.0.0.192")]
    [InlineData("[fd00:ec2::254]")]
    [InlineData("[::ffff:169.254.169.254]")]
    [InlineData("[64:ff9b::a9fe:a9fe]")]
    public void MetadataAddress_IsRefused_EvenWhenARuleNamesItAndAllowsPrivateAddresses(string host)
    {
        var admission = Admissions.For("dev", rules: Admissions.Rule("http", host.Trim('[', ']'), 80, "/**", allowPrivate: true));

        Assert.EndsWith("a cloud metadata address, which is never allowed.", Refusal($"http://{host}/latest/meta-data/", admission), StringComparison.Ordinal);
    }

    [Fact]
    public void Target_WithAQuery_IsRefused_AndTheQueryIsNotRepeated()
    {
        // The measured hole: routes appended to this target became a storage listing request on the emulator.
        var admission = Admissions.For("dev", rules: Admissions.Rule("http", "127.0.0.1", 10000, "/**", allowPrivate: true));

        var reason = Refusal("http://127.0.0.1:10000/devstoreaccount1?comp=list&x=", admission);

        Assert.Equal("'http://127.0.0.1:10000/devstoreaccount1' is not an allowed run target: a target has no query string or fragment.", reason);
    }

    [Fact]
    public void Target_OnAPathNoRuleAllows_IsRefusedListingTheAllowedPaths()
    {
        Assert.Equal(
            "'http://127.0.0.1:7072/admin/effects' is not an allowed run target: no rule of Agentic:Targets:Allow allows the path '/admin/effects' on http://127.0.0.1:7072 (allowed: /services/**).",
            Refusal("http://127.0.0.1:7072/admin/effects"));
    }

    [Fact]
    public void AgentNarrowing_RefusesATargetTheDeploymentAllows_AndNamesTheAgent()
    {
        var narrow = Admissions.Rule("http", "127.0.0.1", 7072, "/services/checkout", allowPrivate: true);
        var agents = new AgentCatalog([AgentCatalog.Default.Get("diagnostics") with { Targets = [narrow] }]);
        var admission = Admissions.For("dev", agents, Admissions.Rule("http", "127.0.0.1", 7072, "/services/**", allowPrivate: true));

        Assert.Equal(Fleet, Parse(Fleet, admission).Target);
        Assert.Equal(
            "'http://127.0.0.1:7072/services/payments' is not an allowed run target: no rule of agent 'diagnostics''s targets allows http://127.0.0.1:7072/services/payments.",
            Refusal("http://127.0.0.1:7072/services/payments", admission));
    }

    [Fact]
    public void AgentNarrowing_CanNotAllowPrivateAddressesTheDeploymentDoesNot()
    {
        var agents = new AgentCatalog([AgentCatalog.Default.Get("diagnostics") with { Targets = [Admissions.Rule("http", "10.0.0.5", 80, "/**", allowPrivate: true)] }]);
        var admission = Admissions.For("dev", agents, Admissions.Rule("http", "10.0.0.5", 80, "/**", allowPrivate: false));

        Assert.EndsWith("10.0.0.5 is a private address, and no rule allows private addresses for it.", Refusal("http://10.0.0.5/services/x", admission), StringComparison.Ordinal);
    }

    [Fact]
    public void AgentNarrowing_WithABadRule_IsRefusedWhenTheCatalogIsBuilt()
    {
        var bad = new EndpointRule { Scheme = "ftp", Host = "127.0.0.1" };

        var ex = Assert.Throws<ArgumentException>(() => new AgentCatalog([AgentCatalog.Default.Get("diagnostics") with { Targets = [bad] }]));

        Assert.Contains("agent 'diagnostics' Targets:0:Scheme: 'ftp' is not 'https' or 'http'.", ex.Message, StringComparison.Ordinal);
        Assert.Contains("agent 'diagnostics' Targets:0:Paths: at least one path glob is required", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NoTargetRules_AllowNoRunAtAll()
    {
        var none = new RunAdmission(AgentCatalog.Default, "dev", new RunTargets(new TargetOptions()));

        Assert.EndsWith("no rule of Agentic:Targets:Allow allows http://127.0.0.1:7072.", Refusal(Fleet, none), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Core_TargetsAndEnvironment_ComeFromTheHostsConfiguration()
    {
        using var provider = Core(new()
        {
            ["Agentic:Environment"] = "prod",
            ["Agentic:Targets:Allow:0:Scheme"] = "http",
            ["Agentic:Targets:Allow:0:Host"] = "127.0.0.1",
            ["Agentic:Targets:Allow:0:Port"] = "7072",
            ["Agentic:Targets:Allow:0:Paths:0"] = "/services/**",
            ["Agentic:Targets:Allow:0:AllowPrivate"] = "true",
        });

        var request = Parse(Fleet, await provider.GetRequiredService<RunAdmissions>().CurrentAsync(TestContext.Current.CancellationToken));

        Assert.Equal("prod", request.Environment);
    }

    [Fact]
    public void Core_WithoutAnEnvironment_FailsValidationNamingTheSetting()
    {
        using var provider = Core(new());

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<DeploymentOptions>>().Value);

        Assert.Equal(["Agentic:Environment is required: the deployment's environment, one of dev, test, staging, prod (Agentic__Environment)."], ex.Failures);
    }

    [Fact]
    public void Core_BadTargetRules_FailValidationNamingEachSetting()
    {
        using var provider = Core(new() { ["Agentic:Environment"] = "dev", ["Agentic:Targets:Allow:0:Host"] = "127.0.0.1", ["Agentic:Targets:Allow:0:Port"] = "0" });

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<TargetOptions>>().Value);

        Assert.Equal(
            ["Agentic:Targets:Allow:0:Port: 0 is not a port (1 to 65535).", "Agentic:Targets:Allow:0:Paths: at least one path glob is required ('/**' allows every path)."],
            ex.Failures);
    }

    private static ServiceProvider Core(Dictionary<string, string?> settings)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        services.AddAgenticCore();
        return services.BuildServiceProvider();
    }
}
