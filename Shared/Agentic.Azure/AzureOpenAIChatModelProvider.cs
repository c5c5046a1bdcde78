using System.ClientModel.Primitives;
using Agentic.Core.Planning;
using Agentic.Core.Secrets;
using Azure.AI.OpenAI;
using Azure.Identity;
using Microsoft.Extensions.AI;

namespace Agentic.Azure;

/// <summary>
/// <c>azure-openai</c> models: an Azure OpenAI deployment (<see cref="ModelOptions.Model"/>) through <c>Azure.AI.OpenAI</c>,
/// over the egress client like every model. Without <see cref="ModelOptions.ApiKeySecret"/> the host's identity signs
/// in (<c>DefaultAzureCredential</c>: the managed identity in Azure, the user-assigned one named by
/// <c>Agentic:KeyVault:ClientId</c> when set); with it, the key is read from the secret store at each request.
/// </summary>
public sealed class AzureOpenAIChatModelProvider(string? managedIdentityClientId) : IChatModelProvider
{
    /// <inheritdoc />
    public string Provider => "azure-openai";

    /// <inheritdoc />
    public IChatClient Create(ModelOptions model, HttpClient http, ISecretProvider secrets)
    {
        ArgumentNullException.ThrowIfNull(model);
        var options = new AzureOpenAIClientOptions
        {
            Transport = new HttpClientPipelineTransport(http),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = TimeSpan.FromSeconds(model.TimeoutSeconds),
        };
        var endpoint = new Uri(model.Endpoint);
        AzureOpenAIClient client;
        if (model.ApiKeySecret is { Length: > 0 } secret)
        {
            // The key goes on each request from the secret store (the api-key header Azure OpenAI reads), last before the
            // transport, over the placeholder the client's own key policy sets: the client holds no key.
            options.AddPolicy(new SecretKeyPolicy(secrets, secret, header: "api-key", prefix: ""), PipelinePosition.BeforeTransport);
            client = new AzureOpenAIClient(endpoint, new System.ClientModel.ApiKeyCredential("from-secret-store"), options);
        }
        else
        {
            client = new AzureOpenAIClient(endpoint, new DefaultAzureCredential(new DefaultAzureCredentialOptions { ManagedIdentityClientId = managedIdentityClientId }), options);
        }
        return client.GetChatClient(model.Model).AsIChatClient();
    }
}
