using System.Text.Json;
using Agentic.Core.Tools;
using Agentic.Core.Tools.Builtin;
using Agentic.Testing;
using SideEffect = Agentic.Core.Tools.SideEffect;

namespace Agentic.Core.Tests.Tools;

public sealed class NotifyWebhookToolTests : IDisposable
{
    private readonly LoopbackOnlyNetwork _network = new();
    private readonly EgressClient _client;

    public NotifyWebhookToolTests() => _client = new EgressClient(_network.ResolveAsync, _network.ConnectAsync);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        _client.Dispose();
        Assert.Empty(_network.Violations);
    }

    private NotifyWebhookTool Tool(string name, NotifyChannel channel)
    {
        var options = new NotifyOptions();
        options.Channels[name] = channel;
        return new NotifyWebhookTool(options, _client);
    }

    private static Task<ToolOutcome> InvokeAsync(NotifyWebhookTool tool, object args, IReadOnlyDictionary<string, string>? secrets = null) =>
        tool.InvokeAsync(new ToolCall("run-7", "s3", "", JsonSerializer.SerializeToElement(args), "run-7/s3") { Secrets = secrets ?? new Dictionary<string, string>() }, Ct);

    [Fact]
    public async Task Notify_PostsThePayloadWithTheIdempotencyKeyAndTheChannelSecret()
    {
        await using var server = LoopbackServer.Json("""{"ok":true}""");
        var tool = Tool("ops", new NotifyChannel { Url = server.Url + "/hooks/ops", AllowPrivate = true, SecretHeader = "Authorization", Secret = "Bearer {ops-hook}", AllowSecretsOverHttp = true });

        var outcome = await InvokeAsync(tool, new { channel = "ops", message = "restarted checkout", severity = "warning" }, new Dictionary<string, string> { ["ops-hook"] = "hook-secret-1" });

        var seen = Assert.Single(server.Requests);
        Assert.Equal(("POST", "/hooks/ops"), (seen.Method, seen.Path));
        Assert.Equal("run-7/s3", seen.Headers["Idempotency-Key"]);
        Assert.Equal("Bearer hook-secret-1", seen.Headers["Authorization"]);
        var payload = TestJson.Parse(seen.Body);
        Assert.Equal(
            ("run-7", "s3", "ops", "warning", "restarted checkout"),
            (payload.GetProperty("runId").GetString(), payload.GetProperty("stepId").GetString(), payload.GetProperty("channel").GetString(),
             payload.GetProperty("severity").GetString(), payload.GetProperty("message").GetString()));
        Assert.Equal("""{"channel":"ops","status":200,"delivered":true}""", outcome.Output.GetRawText());
        Assert.Empty(new ToolRegistry([tool]).ValidateOutput(NotifyWebhookTool.Name, outcome.Output));
        Assert.DoesNotContain("hook-secret-1", outcome.Output.GetRawText() + outcome.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Notify_SeverityDefaultsToInfo()
    {
        await using var server = LoopbackServer.Json("{}");
        var tool = Tool("ops", new NotifyChannel { Url = server.Url + "/hook", AllowPrivate = true });

        await InvokeAsync(tool, new { channel = "ops", message = "m" });

        Assert.Equal("info", TestJson.Parse(Assert.Single(server.Requests).Body).GetProperty("severity").GetString());
    }

    [Fact]
    public async Task UnknownChannel_IsRefusedWithoutARequest()
    {
        await using var server = LoopbackServer.Json("{}");
        var tool = Tool("ops", new NotifyChannel { Url = server.Url + "/hook", AllowPrivate = true });

        var ex = await Assert.ThrowsAsync<ToolException>(() => InvokeAsync(tool, new { channel = "finance", message = "m" }));

        Assert.False(ex.Retryable);
        Assert.Equal("notify.webhook: no channel named 'finance' is configured (Agentic:Notify:Channels:finance:Url).", ex.Message);
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task PrivateChannelAddress_IsRefusedUnlessTheChannelAllowsIt()
    {
        await using var server = LoopbackServer.Json("{}");
        var tool = Tool("ops", new NotifyChannel { Url = server.Url + "/hook" });

        var ex = await Assert.ThrowsAsync<ToolException>(() => InvokeAsync(tool, new { channel = "ops", message = "m" }));

        Assert.False(ex.Retryable);
        Assert.Contains("a loopback address, and no rule allows private addresses for it", ex.Message, StringComparison.Ordinal);
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task ServerError_IsRetryable_ClientErrorIsNot()
    {
        await using var failing = LoopbackServer.Json("{}", 503);
        await using var refusing = LoopbackServer.Json("{}", 403);

        var retry = await Assert.ThrowsAsync<ToolException>(() => InvokeAsync(Tool("a", new NotifyChannel { Url = failing.Url + "/h", AllowPrivate = true }), new { channel = "a", message = "m" }));
        var final = await Assert.ThrowsAsync<ToolException>(() => InvokeAsync(Tool("a", new NotifyChannel { Url = refusing.Url + "/h", AllowPrivate = true }), new { channel = "a", message = "m" }));

        Assert.True(retry.Retryable);
        Assert.False(final.Retryable);
        Assert.StartsWith("notify.webhook: the channel 'a' answered 403", final.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Descriptor_DeclaresTheChannelSecrets()
    {
        var options = new NotifyOptions();
        options.Channels["ops"] = new NotifyChannel { Url = "https://hooks.example/ops", SecretHeader = "X-Token", Secret = "ops-hook" };
        options.Channels["plain"] = new NotifyChannel { Url = "https://hooks.example/plain" };
        var d = new NotifyWebhookTool(options, _client).Descriptor;

        Assert.Equal(("notify.webhook", "1.0.0", RiskLevel.Low, SideEffect.Irreversible, true), (d.Name, d.Version, d.Risk, d.SideEffect, d.Idempotent));
        Assert.Equal(["ops-hook"], d.Secrets);
        Assert.Equal(["notification"], d.Tags);
        var registry = new ToolRegistry([new NotifyWebhookTool(options, _client)]);
        Assert.Equal(["$.message: expected at most 2000 character(s), got 2001"], registry.ValidateArguments(d.Name, TestJson.Parse($$"""{"channel":"ops","message":"{{new string('m', 2001)}}"}""")));
    }

    [Fact]
    public void Options_NameEveryBadSetting()
    {
        var options = new NotifyOptions();
        options.Channels["ops"] = new NotifyChannel { Url = "ftp://x", Secret = "a b" };

        var problems = options.Validate();

        Assert.Equal(
        [
            "Agentic:Notify:Channels:ops:Url: an absolute http or https URL without credentials is required.",
            "Agentic:Notify:Channels:ops: set both SecretHeader and Secret, or neither.",
            "Agentic:Notify:Channels:ops:Secret: 'a b' is not a valid secret name (1 to 127 letters, digits or '-').",
        ], problems);
    }
}
