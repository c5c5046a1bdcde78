using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Agentic.Core.Runs;
using Agentic.Core.Tools.Builtin;

namespace Agentic.Core.Tools;

/// <summary>
/// A tool that calls one route of the run's target over HTTP. The target must be one the run target rules (and the
/// run's agent) allow, and the call goes through the <see cref="EgressClient"/>, which checks every address the host
/// resolves to. The response is read with the tool's output cap and never echoed when it is an error.
/// Side-effecting calls carry an <c>Idempotency-Key</c> header so that a call repeated after a crash is applied once by
/// the service. A compensation function, when given, derives from a successful call's output the call that undoes it
/// (<see cref="ToolOutcome.Compensation"/>); it answers <c>null</c> when the output does not say enough. An assessment
/// route, given exactly when the descriptor has an <see cref="ToolDescriptor.AssessmentSchema"/>, is the route under the
/// target that assesses a call: the arguments are POSTed to it, it changes nothing, and its JSON answer is the assessment.
/// </summary>
public sealed class HttpServiceTool : IAssessingTool
{
    private readonly ToolDescriptor _descriptor;
    private readonly HttpMethod _method;
    private readonly string _route;
    private readonly RunTargets _targets;
    private readonly EgressClient _client;
    private readonly Func<JsonElement, CompensationCall?>? _compensation;
    private readonly string? _assessRoute;

    /// <summary>
    /// A tool calling <paramref name="method"/> <c>{target}/{route}</c>; <paramref name="compensation"/> derives the call that
    /// undoes a successful one, and <paramref name="assessRoute"/> is the route that assesses a call.
    /// </summary>
    public HttpServiceTool(
        ToolDescriptor descriptor,
        HttpMethod method,
        string route,
        RunTargets targets,
        EgressClient client,
        Func<JsonElement, CompensationCall?>? compensation = null,
        string? assessRoute = null)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        if ((descriptor.AssessmentSchema is null) != (assessRoute is null))
        {
            throw new ArgumentException($"Tool '{descriptor.Name}' needs an assessment route exactly when its descriptor has an assessment schema.", nameof(assessRoute));
        }
        (_descriptor, _method, _route, _targets, _client, _compensation, _assessRoute) = (descriptor, method, route, targets, client, compensation, assessRoute);
    }

    /// <inheritdoc />
    public ToolDescriptor Descriptor => _descriptor;

    /// <inheritdoc />
    public async Task<ToolOutcome> InvokeAsync(ToolCall invocation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(invocation);
        var idempotencyKey = _descriptor.SideEffect != SideEffect.ReadOnly ? invocation.IdempotencyKey : null;
        var (status, output) = await SendAsync(invocation, _method, _route, idempotencyKey, cancellationToken);
        var summary = output.ValueKind == JsonValueKind.Object && output.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String
            ? m.GetString()!
            : $"{_method} {_route} answered {status}";
        return new ToolOutcome(status, summary, output) { Compensation = _compensation?.Invoke(output) };
    }

    /// <inheritdoc />
    public async Task<JsonElement> AssessAsync(ToolCall invocation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(invocation);
        var route = _assessRoute ?? throw new InvalidOperationException($"Tool '{_descriptor.Name}' can not be assessed.");
        var (_, output) = await SendAsync(invocation, HttpMethod.Post, route, idempotencyKey: null, cancellationToken);
        return output;
    }

    private async Task<(int Status, JsonElement Output)> SendAsync(ToolCall call, HttpMethod method, string route, string? idempotencyKey, CancellationToken cancellationToken)
    {
        var name = _descriptor.Name;
        var grant = _targets.Check(call.Target, call.Agent, call.AgentTargets, out var refusal)
            ?? throw new ToolException($"{name} refused the target: {refusal}.", retryable: false);
        var uri = grant.Route(route);
        using var request = new HttpRequestMessage(method, uri);
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }
        if (method != HttpMethod.Get)
        {
            request.Content = new StringContent(call.Arguments.GetRawText(), Encoding.UTF8, "application/json");
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_descriptor.Timeout);
        HttpResponseMessage response;
        try
        {
            response = await _client.SendAsync(request, grant.AllowPrivate, timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ToolException($"{name} timed out after {_descriptor.Timeout.TotalSeconds:0.#} s.", retryable: true);
        }
        catch (ToolException ex)
        {
            throw new ToolException($"{name}: {ex.Message}", ex.Retryable, ex);
        }
        using (response)
        {
            var status = (int)response.StatusCode;
            if (!response.IsSuccessStatusCode)
            {
                throw new ToolException($"{name} {await HttpBodies.DescribeFailureAsync(response, timeout.Token)}", HttpBodies.IsRetryable(response.StatusCode));
            }
            var (buffer, length, more) = await HttpBodies.ReadCappedAsync(response.Content, _descriptor.MaxOutputBytes, timeout.Token);
            if (more)
            {
                throw new ToolException($"{name} returned more than its output cap of {_descriptor.MaxOutputBytes} bytes.", retryable: false);
            }
            try
            {
                return (status, IsJson(response.Content.Headers.ContentType) && length > 0
                    ? JsonDocument.Parse(buffer.AsMemory(0, length)).RootElement.Clone()
                    : JsonSerializer.SerializeToElement(Encoding.UTF8.GetString(buffer, 0, length)));
            }
            catch (JsonException)
            {
                throw new ToolException($"{name} answered {status} with a body that is not the JSON it declared.", retryable: false);
            }
        }
    }

    private static bool IsJson(MediaTypeHeaderValue? type) =>
        type?.MediaType is { } media && (media == "application/json" || media.EndsWith("+json", StringComparison.Ordinal));
}
