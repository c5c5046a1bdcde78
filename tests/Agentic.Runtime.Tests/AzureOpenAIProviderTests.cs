using Agentic.Azure;
using Agentic.Core.Planning;
using Agentic.Core.Secrets;
using Agentic.Core.Tools.Builtin;
using Agentic.Testing;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace Agentic.Runtime.Tests;

/// <summary>Azure OpenAI models through <c>Azure.AI.OpenAI</c> and the egress client, against a local scripted endpoint.</summary>
public sealed class AzureOpenAIProviderTests
{
    [Fact]
    public async Task AzureOpenAIDeployment_IsCalledAtItsDeploymentRoute_WithTheKeyFromTheSecretStore()
    {
        await using var server = new ScriptedModelServer();
        server.Then("""{"rationale":"nothing to do","steps":[]}""", inputTokens: 42, outputTokens: 7);
        var network = new LoopbackOnlyNetwork();
        var options = new ModelsOptions();
        options.Models["azure"] = new ModelOptions
        {
            Provider = "azure-openai", Endpoint = server.Endpoint.Replace("/v1", "", StringComparison.Ordinal), Model = "planner-deployment", ApiKeySecret = "aoai-key", AllowPrivate = true,
        };
        Assert.Empty(options.Validate());
        using var models = new ChatModels(Options.Create(options), new OneSecret("aoai-key", "aoai-secret-value-123"), new EgressClient(network.ResolveAsync, network.ConnectAsync),
            [new AzureOpenAIChatModelProvider(managedIdentityClientId: null)]);

        var response = await models.Get("azure").GetResponseAsync([new ChatMessage(ChatRole.User, "plan")], cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal("""{"rationale":"nothing to do","steps":[]}""", response.Text);
        Assert.Equal(42, response.Usage?.InputTokenCount);
        var request = Assert.Single(server.Raw);
        Assert.StartsWith("/openai/deployments/planner-deployment/chat/completions", request.Path, StringComparison.Ordinal);
        Assert.Equal("aoai-secret-value-123", request.Headers["api-key"]);
        Assert.Empty(network.Violations);
    }

}
