using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Agentic.Core.Runs;
using Agentic.Runtime;
using Agentic.Testing;
using Azure.Storage.Queues;

namespace Agentic.EndToEnd.Tests.Support;

/// <summary>
/// One real host whose language model is the scripted server (<c>Agentic__Models__default</c>, reached on loopback, so
/// the model's egress allows private addresses), with the sample fleet and its contract register as targets. Tests of a
/// class share it; each scripts the model for its own runs by matching the run's target.
/// </summary>
public sealed class ModelHost(AzuriteFixture storage) : IAsyncLifetime
{
    private SampleFleet? _fleet;
    private AgenticHost? _host;

    /// <summary>The model every language model agent of the host plans with.</summary>
    public ScriptedModelServer Model { get; } = new();

    /// <summary>The host.</summary>
    public AgenticHost Host => _host ?? throw new InvalidOperationException("Not started.");

    /// <summary>The fleet and contract register the runs target.</summary>
    public SampleFleet Fleet => _fleet ?? throw new InvalidOperationException("Not started.");

    /// <summary>A client of the host's API.</summary>
    public AgenticClient Api { get; private set; } = null!;

    /// <summary>The storage's <c>agent-runs</c> queue, which the host listens to.</summary>
    public QueueClient Requests { get; private set; } = null!;

    /// <summary>The settings that make the scripted server the host's <c>default</c> model.</summary>
    public static Dictionary<string, string?> ModelSettings(ScriptedModelServer model) => new()
    {
        ["Agentic__Models__default__Provider"] = "openai",
        ["Agentic__Models__default__Endpoint"] = model.Endpoint,
        ["Agentic__Models__default__Model"] = "scripted-model",
        ["Agentic__Models__default__ApiKeySecret"] = "model-key",
        // The model listens on 127.0.0.1: a private address its egress must allow.
        ["Agentic__Models__default__AllowPrivate"] = "true",
        ["Agentic__Models__default__InputCostPerMillionTokens"] = "1000",
        ["Agentic__Models__default__OutputCostPerMillionTokens"] = "2000",
        ["Agentic__Secrets__model-key"] = "sk-e2e-" + TestIdentities.NewSecret(16),
    };

    /// <inheritdoc />
    public async ValueTask InitializeAsync()
    {
        _fleet = await SampleFleet.StartAsync();
        _host = new AgenticHost(storage.Azurite.ConnectionString, Hubs.New("llm"), ModelSettings(Model), _fleet);
        await Host.StartAsync();
        Api = new AgenticClient(Host.BaseUri);
        Requests = new QueueClient(storage.Azurite.ConnectionString, RunRequestListener.QueueName);
        await Requests.CreateIfNotExistsAsync();
    }

    /// <summary>
    /// Puts a run request on the <c>agent-runs</c> queue, as automation does, and answers the id of the run it starts:
    /// the queue's principal, the agent and the request's idempotency key make it.
    /// </summary>
    public async Task<string> EnqueueAsync(string agent, string target, string idempotencyKey, object parameters, CancellationToken cancellationToken)
    {
        var body = JsonSerializer.Serialize(new { agent, target, idempotencyKey, parameters });
        await Requests.SendMessageAsync(body, cancellationToken);
        return RunIds.For(new RunRequest { Agent = agent, Target = target, Principal = RunRequestListener.Principal, IdempotencyKey = idempotencyKey });
    }

    /// <summary>
    /// Polls a run until <paramref name="done"/> holds (a run the queue has not started yet answers 404 until it has);
    /// fails after 90 s with the host's output.
    /// </summary>
    public async Task<RunView> PollAsync(string id, Func<RunView, bool> done, CancellationToken cancellationToken)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        RunView? view = null;
        var status = HttpStatusCode.NotFound;
        while (DateTime.UtcNow < until)
        {
            (status, var current) = await Api.GetRunAsync(id, cancellationToken);
            Assert.True(status is HttpStatusCode.OK or HttpStatusCode.Accepted or HttpStatusCode.NotFound, $"GET run {id} answered {(int)status}.");
            view = current ?? view;
            if (view is not null && done(view))
            {
                return view;
            }
            await Task.Delay(100, cancellationToken);
        }
        Assert.Fail($"Run {id} did not reach the expected state within 90 s (GET {(int)status}, status {view?.Status}, phase {view?.Phase}, " +
            $"failure '{view?.FailureReason}').\n{HostOutput.Tail(Host)}");
        return view!;
    }

    /// <summary>Polls a run until it ended.</summary>
    public Task<RunView> EndedAsync(string id, CancellationToken cancellationToken) => PollAsync(id, v => v.Status != "running", cancellationToken);

    /// <summary>The run's audit records (<c>GET /api/runs/{id}/audit</c>, as an operator).</summary>
    public async Task<IReadOnlyList<JsonElement>> AuditAsync(string id, CancellationToken cancellationToken)
    {
        using var response = await Api.SendAsync(HttpMethod.Get, new Uri($"/api/runs/{id}/audit", UriKind.Relative), null, Caller.Operator, cancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
        return [.. body.GetProperty("records").EnumerateArray().Select(r => r.Clone())];
    }

    /// <summary>Whether the run's audit chain verifies against the signed checkpoints (<c>GET /api/runs/{id}/audit/verify</c>).</summary>
    public async Task<JsonElement> VerifyAsync(string id, CancellationToken cancellationToken)
    {
        using var response = await Api.SendAsync(HttpMethod.Get, new Uri($"/api/runs/{id}/audit/verify", UriKind.Relative), null, Caller.Operator, cancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        Api?.Dispose();
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
        if (_fleet is not null)
        {
            await _fleet.DisposeAsync();
        }
        await Model.DisposeAsync();
    }
}
