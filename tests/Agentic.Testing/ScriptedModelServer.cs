using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Agentic.Testing;

/// <summary>
/// An OpenAI-compatible chat completions endpoint on 127.0.0.1 that answers from a script: each request takes the next
/// scripted answer (the assistant's text, with token counts, or text composed from the request, as a model's answer
/// depends on what it read), so a test drives the product's real client stack (<c>Microsoft.Extensions.AI.OpenAI</c> over
/// HTTP) with a model whose every word it chose. An answer queued with a <c>match</c> goes only to a request whose body
/// contains that text (a run's target, say), so runs that share the server each get their own script. Every request is
/// kept, so a test can read the prompt and the offered tools the product sent.
/// </summary>
public sealed class ScriptedModelServer : IAsyncDisposable
{
    private readonly List<Answer> _script = [];
    private readonly LoopbackServer _server;
    private int _served;

    /// <summary>Starts the server.</summary>
    public ScriptedModelServer() => _server = LoopbackServer.Start((context, request) => RespondAsync(context, request));

    /// <summary>The API's base URL (what <c>Agentic:Models:{name}:Endpoint</c> is set to).</summary>
    public string Endpoint => _server.Url + "/v1";

    /// <summary>The request bodies received, in order, parsed.</summary>
    public IReadOnlyList<JsonNode> Requests => [.. _server.Requests.Select(r => JsonNode.Parse(r.Body)!)];

    /// <summary>The raw requests (method, path, headers, body).</summary>
    public IReadOnlyCollection<LoopbackServer.Recorded> Raw => _server.Requests;

    /// <summary>Answers served.</summary>
    public int Served => Volatile.Read(ref _served);

    /// <summary>
    /// Queues an answer whose text is <paramref name="content"/> (a JSON value is sent as its text), for the next request
    /// whose body contains <paramref name="match"/> (any request when it is <c>null</c>).
    /// </summary>
    public ScriptedModelServer Then(string content, int inputTokens = 500, int outputTokens = 100, string? match = null) =>
        Enqueue(new Answer(200, content, inputTokens, outputTokens, match));

    /// <summary>Queues an answer whose text <paramref name="compose"/> writes from the request it answers (its parsed body).</summary>
    public ScriptedModelServer Then(Func<JsonNode, string> compose, int inputTokens = 500, int outputTokens = 100) =>
        Enqueue(new Answer(200, "", inputTokens, outputTokens, Match: null) { Compose = compose });

    /// <summary>Queues an answer whose text is <paramref name="value"/> serialized as JSON.</summary>
    public ScriptedModelServer ThenJson(object value, int inputTokens = 500, int outputTokens = 100, string? match = null) =>
        Then(JsonSerializer.Serialize(value), inputTokens, outputTokens, match);

    /// <summary>Queues an HTTP error answer.</summary>
    public ScriptedModelServer ThenError(int status, string? match = null) => Enqueue(new Answer(status, "", 0, 0, match));

    /// <summary>Answers queued and not served yet.</summary>
    public int Unserved
    {
        get
        {
            lock (_script)
            {
                return _script.Count;
            }
        }
    }

    private ScriptedModelServer Enqueue(Answer answer)
    {
        lock (_script)
        {
            _script.Add(answer);
        }
        return this;
    }

    private Answer? Next(string body)
    {
        lock (_script)
        {
            var index = _script.FindIndex(a => a.Match is null || body.Contains(a.Match, StringComparison.Ordinal));
            if (index < 0)
            {
                return null;
            }
            var answer = _script[index];
            _script.RemoveAt(index);
            return answer;
        }
    }

    private async Task RespondAsync(HttpListenerContext context, LoopbackServer.Recorded request)
    {
        if (context.Request.HttpMethod != "POST" || !context.Request.Url!.AbsolutePath.EndsWith("/chat/completions", StringComparison.Ordinal))
        {
            await LoopbackServer.WriteAsync(context, 404, "application/json", """{"error":{"message":"not found"}}""");
            return;
        }
        if (Next(request.Body) is not { } answer)
        {
            await LoopbackServer.WriteAsync(context, 500, "application/json", """{"error":{"message":"the script has no more answers"}}""");
            return;
        }
        Interlocked.Increment(ref _served);
        if (answer.Status != 200)
        {
            await LoopbackServer.WriteAsync(context, answer.Status, "application/json", """{"error":{"message":"scripted error"}}""");
            return;
        }
        var body = new JsonObject
        {
            ["id"] = "chatcmpl-" + Guid.NewGuid().ToString("N"),
            ["object"] = "chat.completion",
            ["created"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            ["model"] = "scripted-model",
            ["choices"] = new JsonArray(new JsonObject
            {
                ["index"] = 0,
                ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = answer.Compose?.Invoke(JsonNode.Parse(request.Body)!) ?? answer.Content },
                ["finish_reason"] = "stop",
            }),
            ["usage"] = new JsonObject { ["prompt_tokens"] = answer.InputTokens, ["completion_tokens"] = answer.OutputTokens, ["total_tokens"] = answer.InputTokens + answer.OutputTokens },
        };
        await LoopbackServer.WriteAsync(context, 200, "application/json", body.ToJsonString());
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _server.DisposeAsync();

    private sealed record Answer(int Status, string Content, int InputTokens, int OutputTokens, string? Match)
    {
        public Func<JsonNode, string>? Compose { get; init; }
    }
}
