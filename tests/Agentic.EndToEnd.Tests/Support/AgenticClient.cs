using Agentic.Core.Runs;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Agentic.Core.Json;
using Agentic.Testing;

namespace Agentic.EndToEnd.Tests.Support;

/// <summary>
/// Who calls the API: a principal holding exactly <paramref name="Roles"/> (comma-separated), signed in with its test key
/// (<see cref="TestIdentities"/>). A <c>null</c> principal is an unauthenticated caller.
/// </summary>
public sealed record Caller(string? Principal, string? Roles = null)
{
    /// <summary>The principal every test run is requested by.</summary>
    public static Caller Requester { get; } = new("requester", "requester");

    /// <summary>An operator who may approve the requester's risky steps.</summary>
    public static Caller Operator { get; } = new("operator-1", "operator");

    /// <summary>Signs <paramref name="request"/> in as this caller; an anonymous caller only claims an identity in headers, which the host must ignore.</summary>
    public void SignIn(HttpRequestMessage request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (Principal is null)
        {
            request.Headers.Add("X-Agentic-Principal", "mallory");
            if (Roles is not null)
            {
                request.Headers.Add("X-Agentic-Roles", Roles);
            }
            return;
        }
        request.Headers.Add(TestIdentities.KeyHeader, TestIdentities.Key(Principal, Roles));
    }
}

/// <summary>The HTTP API of one running host, as a client on loopback sees it.</summary>
public sealed class AgenticClient(Uri baseUri) : IDisposable
{
    private static readonly JsonSerializerOptions BodyJson = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>The client, based at the host.</summary>
    public HttpClient Http { get; } = new() { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(15) };

    /// <summary>A JSON body from an anonymous object (nulls left out).</summary>
    public static HttpContent Json(object body) => Raw(JsonSerializer.Serialize(body, BodyJson));

    /// <summary>A body of exactly <paramref name="text"/>, labelled as JSON.</summary>
    public static HttpContent Raw(string text) => new StringContent(text, Encoding.UTF8, new MediaTypeHeaderValue("application/json"));

    /// <summary><c>POST /api/runs</c> as <paramref name="caller"/>; the raw answer.</summary>
    public Task<HttpResponseMessage> PostRunAsync(HttpContent body, Caller caller, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, new Uri("/api/runs", UriKind.Relative), body, caller, cancellationToken);

    /// <summary>Submits a run and insists on <c>202 Accepted</c>.</summary>
    public async Task<RunCreatedView> SubmitAsync(object body, Caller caller, CancellationToken cancellationToken)
    {
        using var response = await PostRunAsync(Json(body), caller, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"POST /api/runs answered {(int)response.StatusCode}: {text}");
        return JsonSerializer.Deserialize<RunCreatedView>(text, AgenticJson.Options)!;
    }

    /// <summary>
    /// Submits a run (whose body carries an idempotency key) until the host answers <c>202</c>: while the host
    /// is down or dies mid-request the same key is sent again, so at most one run starts.
    /// </summary>
    public async Task<(RunCreatedView Run, IReadOnlyList<string> Failures)> SubmitUntilAcceptedAsync(object body, Caller caller, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var until = DateTime.UtcNow + timeout;
        var failures = new List<string>();
        while (true)
        {
            try
            {
                using var response = await PostRunAsync(Json(body), caller, cancellationToken);
                var text = await response.Content.ReadAsStringAsync(cancellationToken);
                if (response.StatusCode == HttpStatusCode.Accepted)
                {
                    return (JsonSerializer.Deserialize<RunCreatedView>(text, AgenticJson.Options)!, failures);
                }
                failures.Add($"{(int)response.StatusCode}: {text}");
            }
            catch (Exception ex) when (IsUnreachable(ex, cancellationToken))
            {
                failures.Add($"{ex.GetType().Name}: {ex.Message}");
            }
            if (DateTime.UtcNow > until)
            {
                throw new TimeoutException($"POST /api/runs was not accepted within {timeout}; answers:\n" + string.Join('\n', failures));
            }
            await Task.Delay(200, cancellationToken);
        }
    }

    /// <summary><c>GET /api/runs/{id}</c> as an operator (or <paramref name="caller"/>): the status code and, for 200 and 202, the run.</summary>
    public async Task<(HttpStatusCode Status, RunView? Run)> GetRunAsync(string id, CancellationToken cancellationToken, Caller? caller = null)
    {
        using var response = await SendAsync(HttpMethod.Get, new Uri("/api/runs/" + id, UriKind.Relative), null, caller ?? Caller.Operator, cancellationToken);
        var run = response.StatusCode is HttpStatusCode.OK or HttpStatusCode.Accepted
            ? JsonSerializer.Deserialize<RunView>(await response.Content.ReadAsStringAsync(cancellationToken), AgenticJson.Options)
            : null;
        return (response.StatusCode, run);
    }

    /// <summary>Posts a decision (<c>approve</c>, <c>reject</c> or anything else) to an approval URI.</summary>
    public Task<HttpResponseMessage> DecideAsync(Uri approvalUri, string decision, Caller caller, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, approvalUri, Json(new { decision, comment = "e2e" }), caller, cancellationToken);

    /// <summary>The approval URI of a step, built like the API's template.</summary>
    public static Uri ApprovalUri(RunCreatedView run, string stepId) => new(run.ApprovalPostUriTemplate.Replace("{stepId}", stepId, StringComparison.Ordinal));

    /// <summary>Whether an exception means the host could not be reached or died mid-request (not that the test was cancelled).</summary>
    public static bool IsUnreachable(Exception ex, CancellationToken cancellationToken) =>
        ex is HttpRequestException or IOException or System.Net.Sockets.SocketException || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested);

    /// <inheritdoc />
    public void Dispose() => Http.Dispose();

    /// <summary>Sends a request as <paramref name="caller"/>.</summary>
    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, Uri uri, HttpContent? body, Caller caller, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        using var request = new HttpRequestMessage(method, uri) { Content = body };
        caller.SignIn(request);
        return await Http.SendAsync(request, cancellationToken);
    }
}
