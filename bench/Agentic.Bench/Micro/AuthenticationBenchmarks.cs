using System.Security.Cryptography;
using System.Text;
using Agentic.Runtime.Http.Identity;
using Agentic.Testing;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Agentic.Bench.Micro;

/// <summary>
/// What authenticating one request costs in front of every handler (<see cref="RequestGuard"/>), measured in one run:
/// a request scope with a plain <see cref="Dictionary{TKey, TValue}"/> lookup of the key (the baseline: what a
/// non-constant-time key check would cost), against the guard with a key among 32 configured (every hash compared in
/// constant time) and with a signed Entra-style bearer token.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(PolicyBenchmarks.PercentileConfig))]
public class AuthenticationBenchmarks
{
    private const int Keys = 32;
    private ServiceProvider _services = null!;
    private Dictionary<string, string> _plain = null!;
    private string _key = null!;
    private string _token = null!;

    [GlobalSetup]
    public void Setup()
    {
        var settings = new Dictionary<string, string?>
        {
            ["Agentic:Environment"] = "dev",
            ["Agentic:Auth:Jwt:Authority"] = TestIdentities.Authority,
            ["Agentic:Auth:Jwt:Audience"] = TestIdentities.Audience,
            ["Agentic:Auth:Jwt:SigningKeys:0"] = TestIdentities.SigningKey,
        };
        _plain = [];
        for (var i = 0; i < Keys; i++)
        {
            var key = TestIdentities.NewSecret(24);
            settings[$"Agentic:Auth:ApiKeys:{i}:Sha256"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
            settings[$"Agentic:Auth:ApiKeys:{i}:Principal"] = "bot-" + i;
            settings[$"Agentic:Auth:ApiKeys:{i}:Roles:0"] = "requester";
            _plain[key] = "bot-" + i;
            _key = key;
        }
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddAgenticAuthentication(configuration, AgenticHostKind.Local);
        _services = services.BuildServiceProvider();
        _token = TestIdentities.MintToken("oid-bench", ["operator"], expires: DateTime.UtcNow.AddDays(1));
        if (Key().GetAwaiter().GetResult() is not "bot-31" || Token().GetAwaiter().GetResult() is not "oid-bench")
        {
            throw new InvalidOperationException("The benchmark requests do not authenticate as intended.");
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _services.Dispose();

    [Benchmark(Baseline = true)]
    public async Task<string?> PlainLookup()
    {
        await using var scope = _services.CreateAsyncScope();
        var context = Request(scope.ServiceProvider);
        context.Request.Headers["x-functions-key"] = _key;
        return _plain.GetValueOrDefault(context.Request.Headers["x-functions-key"].ToString());
    }

    [Benchmark]
    public Task<string?> Key() => GuardAsync(r => r.Headers["x-functions-key"] = _key);

    [Benchmark]
    public Task<string?> Token() => GuardAsync(r => r.Headers.Authorization = "Bearer " + _token);

    private async Task<string?> GuardAsync(Action<HttpRequest> sign)
    {
        await using var scope = _services.CreateAsyncScope();
        var context = Request(scope.ServiceProvider);
        sign(context.Request);
        return await RequestGuard.CheckAsync(context) is null ? Caller.Of(context).Id : null;
    }

    private static DefaultHttpContext Request(IServiceProvider services)
    {
        var context = new DefaultHttpContext { RequestServices = services };
        context.Request.Method = "GET";
        context.Request.Path = "/api/agents";
        return context;
    }
}
