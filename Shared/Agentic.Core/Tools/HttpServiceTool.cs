using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Agentic.Core.Tools;

/// <summary>
/// A tool that calls one route of the target service over HTTP. Side-effecting calls carry an
/// <c>Idempotency-Key</c> header so that a call repeated after a crash is applied once by the service.
/// <paramref name="compensation"/>, when given, derives from a successful call's output the call that undoes it
/// (<see cref="ToolOutcome.Compensation"/>); it answers <c>null</c> when the output does not say enough.
/// </summary>
public sealed class HttpServiceTool(
    ToolDescriptor descriptor,
    HttpMethod method,
    string route,
    IHttpClientFactory httpClients,
    Func<JsonElement, CompensationCall?>? compensation = null) : ITool
{
    /// <summary>The name of the <see cref="HttpClient"/> tools use.</summary>
    public const string HttpClientName = "agentic-tools";

    /// <inheritdoc />
    public ToolDescriptor Descriptor => descriptor;

    /// <inheritdoc />
    public async Task<ToolOutcome> InvokeAsync(ToolCall invocation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(invocation);
        var call = invocation;
        var uri = new Uri(call.Target.TrimEnd('/') + "/" + route);
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
            response = await httpClients.CreateClient(HttpClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ToolException($"{descriptor.Name} timed out after {descriptor.Timeout.TotalSeconds:0.#} s.", retryable: true);
        }
        catch (HttpRequestException ex)
        {
            throw new ToolException($"{descriptor.Name} could not reach {uri.GetLeftPart(UriPartial.Authority)}: {ex.Message}", retryable: true, ex);
        }
        using (response)
        {
            var body = await ReadCappedAsync(response.Content, descriptor.MaxOutputBytes, timeout.Token);
            var status = (int)response.StatusCode;
            if (!response.IsSuccessStatusCode)
            {
                var retryable = status >= 500 || response.StatusCode == HttpStatusCode.TooManyRequests || response.StatusCode == HttpStatusCode.RequestTimeout;
                throw new ToolException($"{descriptor.Name} answered {status} {response.ReasonPhrase}: {Truncate(body, 300)}", retryable);
            }
            var output = IsJson(response.Content.Headers.ContentType) && body.Length > 0
                ? JsonDocument.Parse(body).RootElement.Clone()
                : JsonSerializer.SerializeToElement(body);
            var summary = output.ValueKind == JsonValueKind.Object && output.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String
                ? m.GetString()!
                : $"{method} {route} answered {status}";
            return new ToolOutcome(status, summary, output) { Compensation = compensation?.Invoke(output) };
        }
    }

    private async Task<string> ReadCappedAsync(HttpContent content, int maxBytes, CancellationToken cancellationToken)
    {
        await using var stream = await content.ReadAsStreamAsync(cancellationToken);
        var buffer = new byte[maxBytes + 1];
        var total = 0;
        int read;
        while (total < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(total), cancellationToken)) > 0)
        {
            total += read;
        }
        if (total > maxBytes)
        {
            throw new ToolException($"{descriptor.Name} returned more than its output cap of {maxBytes} bytes.", retryable: false);
        }
        return Encoding.UTF8.GetString(buffer, 0, total);
    }

    private static bool IsJson(MediaTypeHeaderValue? type) =>
        type?.MediaType is { } media && (media == "application/json" || media.EndsWith("+json", StringComparison.Ordinal));

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..max] + "…";
}
