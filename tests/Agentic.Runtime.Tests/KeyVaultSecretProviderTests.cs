using System.Net;
using System.Text;
using Agentic.Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Security.KeyVault.Secrets;

namespace Agentic.Runtime.Tests;

/// <summary>
/// The Key Vault secret provider over the real <see cref="SecretClient"/>, with the vault's HTTP answers played by an
/// in-process handler (no network): values are cached for the configured time, a missing secret is <c>null</c>.
/// </summary>
public sealed class KeyVaultSecretProviderTests : IDisposable
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private readonly FakeVault _vault = new();
    private readonly ManualClock _clock = new();

    public void Dispose() => _vault.Dispose();

    private KeyVaultSecretProvider Provider()
    {
        var options = new SecretClientOptions { Transport = new HttpClientTransport(_vault), DisableChallengeResourceVerification = true };
        options.Retry.MaxRetries = 0;
        return new KeyVaultSecretProvider(new SecretClient(new Uri("https://agentic-test.vault.azure.net/"), new StaticToken(), options), _clock, TimeSpan.FromMinutes(5));
    }

    [Fact]
    public async Task Get_ReadsTheVaultOnce_ThenServesTheCacheUntilItExpires()
    {
        var provider = Provider();
        _vault.Secrets["fleet-token"] = "v1";

        Assert.Equal("v1", await provider.GetAsync("fleet-token", Ct));
        _vault.Secrets["fleet-token"] = "v2";
        _clock.Now += TimeSpan.FromMinutes(4);
        Assert.Equal("v1", await provider.GetAsync("fleet-token", Ct));
        Assert.Equal(1, _vault.Reads("fleet-token"));

        _clock.Now += TimeSpan.FromMinutes(1);
        Assert.Equal("v2", await provider.GetAsync("fleet-token", Ct));
        Assert.Equal(2, _vault.Reads("fleet-token"));
    }

    [Fact]
    public async Task Get_AMissingSecret_IsNull_AndIsAskedForAgainNextTime()
    {
        var provider = Provider();

        Assert.Null(await provider.GetAsync("absent", Ct));
        _vault.Secrets["absent"] = "now-here";
        Assert.Equal("now-here", await provider.GetAsync("absent", Ct));
    }

    [Fact]
    public async Task Get_AVaultFailure_Throws()
    {
        var provider = Provider();
        _vault.Fail = true;

        await Assert.ThrowsAsync<global::Azure.RequestFailedException>(() => provider.GetAsync("fleet-token", Ct));
    }

    [Fact]
    public async Task Get_AnInvalidName_IsRefusedBeforeAnyRead()
    {
        var provider = Provider();

        await Assert.ThrowsAsync<ArgumentException>(() => provider.GetAsync("../keys/x", Ct));
        Assert.Equal(0, _vault.Requests);
    }

    private sealed class ManualClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = DateTimeOffset.UnixEpoch;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    private sealed class StaticToken : TokenCredential
    {
        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken) => new("token", DateTimeOffset.MaxValue);

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) => new(GetToken(requestContext, cancellationToken));
    }

    /// <summary>Answers like Key Vault: a challenge to an anonymous request, then the secret or 404.</summary>
    private sealed class FakeVault : HttpMessageHandler
    {
        private readonly Dictionary<string, int> _reads = new(StringComparer.Ordinal);

        public Dictionary<string, string> Secrets { get; } = new(StringComparer.Ordinal);

        public bool Fail { get; set; }

        public int Requests { get; private set; }

        public int Reads(string name)
        {
            lock (_reads)
            {
                return _reads.GetValueOrDefault(name);
            }
        }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Requests++;
            if (request.Headers.Authorization is null)
            {
                var challenge = new HttpResponseMessage(HttpStatusCode.Unauthorized) { Content = new StringContent("") };
                challenge.Headers.TryAddWithoutValidation("WWW-Authenticate",
                    "Bearer authorization=\"https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000\", resource=\"https://vault.azure.net\"");
                return Task.FromResult(challenge);
            }
            if (Fail)
            {
                return Task.FromResult(Json(HttpStatusCode.InternalServerError, """{"error":{"code":"InternalError","message":"down"}}"""));
            }
            var name = request.RequestUri!.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries)[1];
            lock (_reads)
            {
                _reads[name] = _reads.GetValueOrDefault(name) + 1;
            }
            return Task.FromResult(Secrets.TryGetValue(name, out var value)
                ? Json(HttpStatusCode.OK, $$$"""{"value":"{{{value}}}","id":"https://agentic-test.vault.azure.net/secrets/{{{name}}}/0123456789abcdef","attributes":{"enabled":true}}""")
                : Json(HttpStatusCode.NotFound, $$$"""{"error":{"code":"SecretNotFound","message":"A secret with (name/id) {{{name}}} was not found in this key vault."}}"""));
        }

        private static HttpResponseMessage Json(HttpStatusCode status, string body) =>
            new(status) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
    }
}
