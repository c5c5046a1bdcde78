using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Agentic.Core.Planning;

/// <summary>
/// The language models planners may use, by name. Configuration:
/// <code>
/// "Agentic": { "Models": { "default": {
///   "Provider": "openai", "Endpoint": "https://api.openai.com/v1", "Model": "gpt-4o-mini", "ApiKeySecret": "openai-api-key",
///   "InputCostPerMillionTokens": 0.15, "OutputCostPerMillionTokens": 0.6, "MaxOutputTokens": 2000, "TimeoutSeconds": 60,
///   "TokensPerMinute": 200000, "AllowPrivate": false } } }
/// </code>
/// <c>openai</c> is any OpenAI-compatible chat completions endpoint; <c>azure-openai</c> is an Azure OpenAI resource
/// (<c>Model</c> is the deployment), reached with the host's managed identity (<c>DefaultAzureCredential</c>) unless
/// <c>ApiKeySecret</c> names a key. Every model is reached through the egress client: its address is checked like a
/// tool's (private addresses only with <c>AllowPrivate</c>, metadata addresses never).
/// </summary>
public sealed partial class ModelsOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Agentic:Models";

    /// <summary>The providers a model may name.</summary>
    public static readonly IReadOnlyList<string> Providers = ["openai", "azure-openai"];

    /// <summary>The models, by name (case-insensitive, like configuration keys).</summary>
    public IDictionary<string, ModelOptions> Models { get; } = new Dictionary<string, ModelOptions>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Every problem with the models, each naming its setting; empty when they are valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        foreach (var (name, model) in Models)
        {
            var path = $"{Section}:{name}";
            if (!ModelName().IsMatch(name))
            {
                problems.Add($"{path}: '{name}' is not a model name (1 to 64 letters, digits, '.', '_' or '-').");
            }
            if (!Providers.Contains(model.Provider, StringComparer.Ordinal))
            {
                problems.Add($"{path}:Provider must be one of {string.Join(", ", Providers)}; it is '{model.Provider}'.");
            }
            if (!Uri.TryCreate(model.Endpoint, UriKind.Absolute, out var endpoint) || (endpoint.Scheme != Uri.UriSchemeHttp && endpoint.Scheme != Uri.UriSchemeHttps)
                || endpoint.UserInfo.Length > 0 || endpoint.Query.Length > 0)
            {
                problems.Add($"{path}:Endpoint: an absolute http or https URL without credentials or query is required.");
            }
            else if (endpoint.Scheme == Uri.UriSchemeHttp && !model.AllowPrivate)
            {
                problems.Add($"{path}:Endpoint: plain http carries the prompt and the key in clear; use https (http only for a private endpoint with AllowPrivate).");
            }
            if (string.IsNullOrWhiteSpace(model.Model))
            {
                problems.Add($"{path}:Model is required (the model id, or the Azure OpenAI deployment).");
            }
            if (model.Provider == "openai" && string.IsNullOrWhiteSpace(model.ApiKeySecret))
            {
                problems.Add($"{path}:ApiKeySecret is required for provider openai: the name of the secret holding the key.");
            }
            if (model.InputCostPerMillionTokens < 0 || model.OutputCostPerMillionTokens < 0)
            {
                problems.Add($"{path}: token prices may not be negative.");
            }
            if (model.MaxOutputTokens is < 16 or > 128_000)
            {
                problems.Add($"{path}:MaxOutputTokens must be from 16 to 128000; it is {model.MaxOutputTokens}.");
            }
            if (model.TimeoutSeconds is < 1 or > 600)
            {
                problems.Add($"{path}:TimeoutSeconds must be from 1 to 600; it is {model.TimeoutSeconds}.");
            }
            if (model.TokensPerMinute is < 1_000)
            {
                problems.Add($"{path}:TokensPerMinute must be at least 1000; it is {model.TokensPerMinute}.");
            }
        }
        return problems;
    }

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    private static partial Regex ModelName();
}

/// <summary>One language model: where it is, how it is reached, what it costs.</summary>
public sealed class ModelOptions
{
    /// <summary><c>openai</c> (any OpenAI-compatible endpoint) or <c>azure-openai</c>.</summary>
    public string Provider { get; set; } = "openai";

    /// <summary>The endpoint: the API's base URL (e.g. <c>https://api.openai.com/v1</c>), or the Azure OpenAI resource.</summary>
    public string Endpoint { get; set; } = "";

    /// <summary>The model id, or the Azure OpenAI deployment name.</summary>
    public string Model { get; set; } = "";

    /// <summary>The secret (secret store name) holding the API key; for <c>azure-openai</c>, absent means the managed identity.</summary>
    public string? ApiKeySecret { get; set; }

    /// <summary>Cost units per million input tokens, counted against the run's budget.</summary>
    public double InputCostPerMillionTokens { get; set; }

    /// <summary>Cost units per million output tokens, counted against the run's budget.</summary>
    public double OutputCostPerMillionTokens { get; set; }

    /// <summary>The most tokens one answer may have.</summary>
    public int MaxOutputTokens { get; set; } = 2000;

    /// <summary>How long one call may take.</summary>
    public int TimeoutSeconds { get; set; } = 60;

    /// <summary>Tokens (in and out) one agent may spend per minute on this host: a runaway planning loop stops here.</summary>
    public int TokensPerMinute { get; set; } = 200_000;

    /// <summary>Whether the endpoint may be a private address (a model served inside the network, or on this machine).</summary>
    public bool AllowPrivate { get; set; }
}

/// <summary>Validates <see cref="ModelsOptions"/> when the host starts.</summary>
internal sealed class ModelsOptionsValidator : IValidateOptions<ModelsOptions>
{
    public ValidateOptionsResult Validate(string? name, ModelsOptions options) =>
        options.Validate() is { Count: > 0 } problems ? ValidateOptionsResult.Fail(problems) : ValidateOptionsResult.Success;
}
