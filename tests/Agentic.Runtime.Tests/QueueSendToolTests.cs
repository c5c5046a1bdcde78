using System.Text.Json;
using Agentic.Azure;
using Agentic.Core;
using Agentic.Core.Secrets;
using Agentic.Core.Tools;
using Agentic.Testing;
using Azure.Storage.Queues;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Agentic.Runtime.Tests;

/// <summary><c>queue.send</c> against the real Azurite: what lands on the queue, and what never does.</summary>
public sealed class QueueSendToolTests(AzuriteFixture azurite)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private QueueServiceClient Queues => new(azurite.Azurite.ConnectionString);

    private static string FreshQueue() => "qs-" + Guid.NewGuid().ToString("N")[..16];

    private static Task<ToolOutcome> SendAsync(QueueSendTool tool, object args) =>
        tool.InvokeAsync(new ToolCall("run-9", "s2", "", JsonSerializer.SerializeToElement(args), "run-9/s2"), Ct);

    private async Task<QueueClient> CreateQueueAsync(string name)
    {
        var queue = Queues.GetQueueClient(name);
        await queue.CreateAsync(cancellationToken: Ct);
        return queue;
    }

    [Fact]
    public async Task Send_ToAnAllowedQueue_PutsTheMessageWithTheIdempotencyKeyOnIt()
    {
        var name = FreshQueue();
        var queue = await CreateQueueAsync(name);
        var tool = new QueueSendTool(Queues, [name]);

        var outcome = await SendAsync(tool, new { queue = name, message = new { order = 42, items = new[] { "a", "b" } } });

        var received = Assert.Single((await queue.ReceiveMessagesAsync(maxMessages: 10, cancellationToken: Ct)).Value);
        using var body = JsonDocument.Parse(received.Body.ToString());
        Assert.Equal("run-9/s2", body.RootElement.GetProperty("idempotencyKey").GetString());
        Assert.Equal("run-9", body.RootElement.GetProperty("runId").GetString());
        Assert.Equal("s2", body.RootElement.GetProperty("stepId").GetString());
        Assert.Equal("""{"order":42,"items":["a","b"]}""", body.RootElement.GetProperty("message").GetRawText());
        Assert.Equal(received.MessageId, outcome.Output.GetProperty("messageId").GetString());
        Assert.Equal(name, outcome.Output.GetProperty("queue").GetString());
        Assert.Equal(201, outcome.StatusCode);
        Assert.Empty(new ToolRegistry([tool]).ValidateOutput(QueueSendTool.Name, outcome.Output));
    }

    [Fact]
    public async Task Send_ToAQueueNotInTheAllowList_IsRefusedAndNothingIsSent()
    {
        var allowed = FreshQueue();
        var other = FreshQueue();
        var queue = await CreateQueueAsync(other);
        var tool = new QueueSendTool(Queues, [allowed]);

        var ex = await Assert.ThrowsAsync<ToolException>(() => SendAsync(tool, new { queue = other, message = new { a = 1 } }));

        Assert.False(ex.Retryable);
        Assert.Equal($"queue.send refused the call: the queue '{other}' is not in Agentic:Queues:Allow.", ex.Message);
        Assert.Empty((await queue.PeekMessagesAsync(10, Ct)).Value);
    }

    [Fact]
    public async Task Send_ToAnAllowedQueueThatDoesNotExist_FailsWithoutCreatingIt()
    {
        var name = FreshQueue();
        var tool = new QueueSendTool(Queues, [name]);

        var ex = await Assert.ThrowsAsync<ToolException>(() => SendAsync(tool, new { queue = name, message = new { a = 1 } }));

        Assert.False(ex.Retryable);
        Assert.Equal($"queue.send: the queue '{name}' does not exist, and queue.send does not create queues.", ex.Message);
        Assert.False((await Queues.GetQueueClient(name).ExistsAsync(Ct)).Value);
    }

    [Fact]
    public async Task Send_AMessageOverTheCap_IsRefusedAndNothingIsSent()
    {
        var name = FreshQueue();
        var queue = await CreateQueueAsync(name);
        var tool = new QueueSendTool(Queues, [name]);

        var ex = await Assert.ThrowsAsync<ToolException>(() => SendAsync(tool, new { queue = name, message = new { blob = new string('x', 48 * 1024) } }));

        Assert.False(ex.Retryable);
        Assert.StartsWith("queue.send refused the call: the message is ", ex.Message, StringComparison.Ordinal);
        Assert.EndsWith("bytes, over the cap of 49152 bytes.", ex.Message, StringComparison.Ordinal);
        Assert.Empty((await queue.PeekMessagesAsync(10, Ct)).Value);
    }

    [Fact]
    public void AllowList_WithABadQueueName_StopsConstruction()
    {
        var ex = Assert.Throws<ArgumentException>(() => new QueueSendTool(Queues, ["Orders_Queue"]));

        Assert.StartsWith("Agentic:Queues:Allow: 'Orders_Queue' is not a queue name", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Descriptor_IsTheBuiltInContract()
    {
        var d = new QueueSendTool(Queues, []).Descriptor;
        var registry = new ToolRegistry([new QueueSendTool(Queues, [])]);

        Assert.Equal(("queue.send", "1.0.0", Core.Tools.RiskLevel.Medium, Core.Tools.SideEffect.Irreversible, false), (d.Name, d.Version, d.Risk, d.SideEffect, d.Idempotent));
        Assert.Equal(["messaging"], d.Tags);
        Assert.Equal(["$.queue: expected at least 3 character(s), got 2"], registry.ValidateArguments(d.Name, JsonSerializer.SerializeToElement(new { queue = "ab", message = new { } })));
        Assert.Equal(["$.message: expected object, got array"], registry.ValidateArguments(d.Name, JsonSerializer.SerializeToElement(new { queue = "abc", message = new[] { 1 } })));
    }

    private ServiceProvider Services(Dictionary<string, string?> settings, Action<IServiceCollection>? before = null)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>(settings)
        {
            ["AgenticStorage"] = azurite.Azurite.ConnectionString,
        }).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        before?.Invoke(services);
        services.AddAgenticCore();
        services.AddAgenticAzureStorage(configuration);
        return services.BuildServiceProvider();
    }

    [Fact]
    public async Task AzureLayer_AddsQueueSendToTheRegistry_WithTheConfiguredAllowList()
    {
        var name = FreshQueue();
        var queue = await CreateQueueAsync(name);
        await using var provider = Services(new() { ["Agentic:Queues:Allow:0"] = name });

        var registry = provider.GetRequiredService<ToolRegistry>();
        Assert.True(registry.TryResolve("queue.send", out var tool));
        Assert.Contains("http.request", registry.Descriptors.Select(d => d.Name));
        Assert.Contains("sample.scale", registry.Descriptors.Select(d => d.Name));
        await tool.InvokeAsync(new ToolCall("run-1", "s1", "", JsonSerializer.SerializeToElement(new { queue = name, message = new { } }), "run-1/s1"), Ct);

        Assert.Single((await queue.PeekMessagesAsync(10, Ct)).Value);
    }

    [Fact]
    public async Task AzureLayer_WithAKeyVaultUri_ReplacesTheConfigurationSecretProvider()
    {
        await using var withVault = Services(new() { ["Agentic:KeyVault:Uri"] = "https://agentic-test.vault.azure.net/" });
        await using var without = Services([]);

        Assert.IsType<KeyVaultSecretProvider>(withVault.GetRequiredService<ISecretProvider>());
        Assert.IsType<ConfigurationSecretProvider>(without.GetRequiredService<ISecretProvider>());
    }

    [Fact]
    public async Task AzureLayer_WithAKeyVaultUri_KeepsAProviderTheHostChose()
    {
        var own = new NoSecrets();
        await using var provider = Services(new() { ["Agentic:KeyVault:Uri"] = "https://agentic-test.vault.azure.net/" }, s => s.AddSingleton<ISecretProvider>(own));

        Assert.Same(own, provider.GetRequiredService<ISecretProvider>());
    }

    [Fact]
    public void AzureLayer_WithAKeyVaultUriThatIsNotHttps_StopsRegistration()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => Services(new() { ["Agentic:KeyVault:Uri"] = "vault" }));

        Assert.Equal("Agentic:KeyVault:Uri must be the vault's https URI (https://<name>.vault.azure.net/), not 'vault'.", ex.Message);
    }

    private sealed class NoSecrets : ISecretProvider
    {
        public Task<string?> GetAsync(string name, CancellationToken cancellationToken) => Task.FromResult<string?>(null);
    }
}
