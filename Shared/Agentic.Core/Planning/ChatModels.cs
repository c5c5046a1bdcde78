using System.ClientModel;
using System.ClientModel.Primitives;
using System.Collections.Concurrent;
using Agentic.Core.Secrets;
using Agentic.Core.Telemetry;
using Agentic.Core.Tools.Builtin;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using OpenAI;
using OpenAI.Chat;

namespace Agentic.Core.Planning;

/// <summary>
/// Builds a model's <see cref="IChatClient"/> for a provider other than <c>openai</c> (the Azure layer registers
/// <c>azure-openai</c>). The HTTP client it is given already goes through the egress rules.
/// </summary>
public interface IChatModelProvider
{
    /// <summary>The provider name, as <see cref="ModelOptions.Provider"/> spells it.</summary>
    string Provider { get; }

    /// <summary>The client for <paramref name="model"/>, sending through <paramref name="http"/>.</summary>
    IChatClient Create(ModelOptions model, HttpClient http, ISecretProvider secrets);
}

/// <summary>
/// The configured models as <see cref="IChatClient"/>s (<c>Microsoft.Extensions.AI</c>): the OpenAI client over the
/// egress client (so a model's address is checked like a tool's, and a name that resolves to a metadata address is never
/// connected to), with no retries of its own (the plan activity's retries count), the key read from the secret store at
/// each request and never kept, and OpenTelemetry <c>chat</c> spans with the GenAI conventions (no prompt or answer text).
/// </summary>
public sealed class ChatModels(IOptions<ModelsOptions> options, ISecretProvider secrets, EgressClient egress, IEnumerable<IChatModelProvider> providers) : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<IChatClient>> _clients = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<HttpClient> _http = [];

    /// <summary>Whether a model of this name is configured.</summary>
    public bool Contains(string name) => options.Value.Models.ContainsKey(name);

    /// <summary>The settings of the model <paramref name="name"/>.</summary>
    public ModelOptions Options(string name) =>
        options.Value.Models.TryGetValue(name, out var model) ? model : throw new KeyNotFoundException($"No model '{name}' is configured ({ModelsOptions.Section}:{name}).");

    /// <summary>The client of the model <paramref name="name"/>, built once.</summary>
    public IChatClient Get(string name)
    {
        var model = Options(name);
        return _clients.GetOrAdd(name, _ => new Lazy<IChatClient>(() => Build(model))).Value;
    }

    private IChatClient Build(ModelOptions model)
    {
        var http = new HttpClient(new EgressHandler(egress, model.AllowPrivate), disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
        lock (_http)
        {
            _http.Add(http);
        }
        IChatClient inner;
        if (model.Provider == "openai")
        {
            var clientOptions = new OpenAIClientOptions
            {
                Endpoint = new Uri(model.Endpoint),
                Transport = new HttpClientPipelineTransport(http),
                RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
                NetworkTimeout = TimeSpan.FromSeconds(model.TimeoutSeconds),
            };
            // The one constructor that takes a per-request authentication policy, so the key is read when it is needed
            // and not kept; it is marked for evaluation, and the package version is pinned.
#pragma warning disable OPENAI001
            inner = new ChatClient(model.Model, new SecretKeyPolicy(secrets, model.ApiKeySecret!), clientOptions).AsIChatClient();
#pragma warning restore OPENAI001
        }
        else
        {
            var provider = providers.FirstOrDefault(p => string.Equals(p.Provider, model.Provider, StringComparison.Ordinal))
                ?? throw new InvalidOperationException($"No provider '{model.Provider}' is registered on this host.");
            inner = provider.Create(model, http, secrets);
        }
        return inner.AsBuilder().UseOpenTelemetry(sourceName: AgenticTelemetry.Name).Build();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var client in _clients.Values.Where(c => c.IsValueCreated))
        {
            client.Value.Dispose();
        }
        lock (_http)
        {
            _http.ForEach(h => h.Dispose());
        }
    }

    // Sends every request through the egress client's address checks.
    private sealed class EgressHandler(EgressClient egress, bool allowPrivate) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            egress.SendAsync(request, allowPrivate, cancellationToken);
    }
}

/// <summary>
/// Sets <c>Authorization: Bearer {key}</c> on each request with the key read from the secret store for that request:
/// the key is never held by the client, so a rotated key is used at the next call.
/// </summary>
public sealed class SecretKeyPolicy(ISecretProvider secrets, string secretName, string header = "Authorization", string prefix = "Bearer ") : AuthenticationPolicy
{
    /// <inheritdoc />
    public override void Process(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
    {
        ArgumentNullException.ThrowIfNull(message);
        Authorize(message, secrets.GetAsync(secretName, message.CancellationToken).GetAwaiter().GetResult());
        ProcessNext(message, pipeline, currentIndex);
    }

    /// <inheritdoc />
    public override async ValueTask ProcessAsync(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
    {
        ArgumentNullException.ThrowIfNull(message);
        Authorize(message, await secrets.GetAsync(secretName, message.CancellationToken));
        await ProcessNextAsync(message, pipeline, currentIndex);
    }

    private void Authorize(PipelineMessage message, string? key)
    {
        if (string.IsNullOrEmpty(key))
        {
            throw new InvalidOperationException($"The model's key secret '{secretName}' is not in the secret store.");
        }
        KnownSecrets.Remember([key]);
        message.Request.Headers.Set(header, prefix + key);
    }
}
