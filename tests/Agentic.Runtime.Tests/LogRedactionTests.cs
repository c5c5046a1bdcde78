using System.Text;
using System.Text.Json;
using Agentic.Core.Activities;
using Agentic.Core.Json;
using Agentic.Core.Telemetry;
using Agentic.Durable;
using Agentic.Runtime.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Agentic.Runtime.Tests;

/// <summary>
/// Log parameters marked <see cref="SecretDataAttribute"/> go through the hosts' redaction
/// (<see cref="TelemetryServiceCollectionExtensions.AddAgenticTelemetry"/>): every form of a configured secret, or of one
/// the tool executor resolved at call time, is taken out before any log provider sees the line; the rest is kept.
/// </summary>
public sealed class LogRedactionTests
{
    private const string Canary = "Canary/7+Secret&Value=42\"q~Zx";

    [Fact]
    public async Task ActivityFailure_QuotingAConfiguredSecret_IsLoggedWithEveryFormRedacted_AndTheRestKept()
    {
        var log = await FailActivityAsync(Canary, redaction: true, ("Agentic:Secrets:canary", Canary));

        Assert.Contains("store said: token=[redacted]", log, StringComparison.Ordinal);
        Assert.Contains("Gate of run run-1 (s1/gate) failed", log, StringComparison.Ordinal);
        AssertNoForm(Canary, log);
    }

    [Fact]
    public async Task ActivityFailure_WithoutTheHostsRedaction_LeavesTheClassifiedValueOut()
    {
        // The control: through a logger without AddAgenticTelemetry the classified error is not in the line at all (the
        // generator keeps classified values for a redacting logger), so the test above sees the redactor's work: the
        // error's text around the secret, with the secret taken out.
        var log = await FailActivityAsync(Canary, redaction: false, ("Agentic:Secrets:canary", Canary));

        Assert.Contains("Gate of run run-1 (s1/gate) failed", log, StringComparison.Ordinal);
        Assert.DoesNotContain("store said", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SecretResolvedByTheExecutorAtCallTime_IsRedactedFromLogsToo()
    {
        // A Key Vault secret is in no configuration: the executor remembers what it resolved.
        var vaulted = "vault-" + Guid.NewGuid().ToString("N");
        KnownSecrets.Remember([vaulted]);

        var log = await FailActivityAsync(vaulted, redaction: true);

        Assert.Contains("store said: token=[redacted]", log, StringComparison.Ordinal);
        AssertNoForm(vaulted, log);
    }

    // Runs the product's activity runner over an activity whose failure quotes the secret (plainly and in base64), with
    // a logger factory built the way the hosts build theirs.
    private static async Task<string> FailActivityAsync(string secret, bool redaction, params (string Key, string Value)[] settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings.ToDictionary(s => s.Key, s => (string?)s.Value)).Build();
        var memory = new MemoryLog();
        var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(configuration)
            .AddLogging(b => b.AddProvider(memory));
        if (redaction)
        {
            services.AddAgenticTelemetry(configuration, TelemetryHost.Local);
        }
        await using var provider = services.BuildServiceProvider();
        var runner = new AgentActivityRunner(
            new ActivityRegistry([new Failing(secret)]), TimeProvider.System, provider.GetRequiredService<ILogger<AgentActivityRunner>>());
        var envelope = AgenticJson.ToElement(new ActivityEnvelope("run-1", "s1/gate", AgenticJson.ToElement(new { }), TimeSpan.FromSeconds(5)));

        await Assert.ThrowsAsync<NonRetryableException>(() => runner.RunAsync("Gate", envelope, TestContext.Current.CancellationToken));
        return memory.Tail(50);
    }

    private static void AssertNoForm(string secret, string log)
    {
        foreach (var form in new[] { secret, secret.ToUpperInvariant(), Convert.ToBase64String(Encoding.UTF8.GetBytes(secret)), JsonEncodedText.Encode(secret).ToString() })
        {
            Assert.DoesNotContain(form, log, StringComparison.OrdinalIgnoreCase);
        }
    }

    private sealed class Failing(string secret) : IActivity
    {
        public string Name => "Gate";

        public Task<JsonElement> RunAsync(JsonElement input, ActivityContext context, CancellationToken cancellationToken) =>
            throw new NonRetryableException($"store said: token={secret} ({Convert.ToBase64String(Encoding.UTF8.GetBytes(secret))}) for {context.RunId}");
    }
}
