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
/// the service. <paramref name="compensation"/>, when given, derives from a successful call's output the call that
/// undoes it (<see cref="ToolOutcome.Compensation"/>); it answers <c>null</c> when the output does not say enough.
/// </summary>
public sealed class HttpServiceTool(
    ToolDescriptor descriptor,
    HttpMethod method,
    string route,
    RunTargets targets,
    EgressClient client,
    Func<JsonElement, CompensationCall?>? compensation = null) : ITool
{
    /// <inheritdoc />
    public ToolDescriptor Descriptor => descriptor;

    /// <inheritdoc />
    public async Task<ToolOutcome> InvokeAsync(ToolCall invocation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(invocation);
        var call = invocation;
        var grant = targets.Check(call.Target, call.Agent, call.AgentTargets, out var refusal)
            ?? throw new ToolException($"{descriptor.Name} refused the target: {refusal}.", retryable: false);
        var uri = grant.Route(route);
        using var request = new HttpRequestMessage(method, uri);
        if (descriptor.SideEffect != SideEffect.ReadOnly)
        {
            request.Headers.Add("Idempotency-Key", call.IdempotencyKey);
        }
        if (method != HttpMethod.Get)
        {
            request.Content = new StringContent(call.Arguments.GetRawText(), Encoding.UTF8, "application/json");
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(descriptor.Timeout);
        HttpResponseMessage response;
        try
        {
            response = await client.SendAsync(request, grant.AllowPrivate, timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ToolException($"{descriptor.Name} timed out after {descriptor.Timeout.TotalSeconds:0.#} s.", retryable: true);
        }
        catch (ToolException ex)
        {
            throw new ToolException($"{descriptor.Name}: {ex.Message}", ex.Retryable, ex);
        }
        using (response)
        {
            var status = (int)response.StatusCode;
            if (!response.IsSuccessStatusCode)
            {
                throw new ToolException($"{descriptor.Name} {await HttpBodies.DescribeFailureAsync(response, timeout.Token)}", HttpBodies.IsRetryable(response.StatusCode));
            }
            var (buffer, length, more) = await HttpBodies.ReadCappedAsync(response.Content, descriptor.MaxOutputBytes, timeout.Token);
            if (more)
            {
                throw new ToolException($"{descriptor.Name} returned more than its output cap of {descriptor.MaxOutputBytes} bytes.", retryable: false);
            }
            JsonElement output;
            try
            {
                output = IsJson(response.Content.Headers.ContentType) && length > 0
                    ? JsonDocument.Parse(buffer.AsMemory(0, length)).RootElement.Clone()
                    : JsonSerializer.SerializeToElement(Encoding.UTF8.GetString(buffer, 0, length));
            }
            catch (JsonException)
            {
                throw new ToolException($"{descriptor.Name} answered {status} with a body that is not the JSON it declared.", retryable: false);
            }
            var summary = output.ValueKind == JsonValueKind.Object && output.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String
                ? m.GetString()!
                : $"{method} {route} answered {status}";
            return new ToolOutcome(status, summary, output) { Compensation = compensation?.Invoke(output) };
        }
    }

    private static bool IsJson(MediaTypeHeaderValue? type) =>
        type?.MediaType is { } media && (media == "application/json" || media.EndsWith("+json", StringComparison.Ordinal));
}
