using System.Text.Json;
using Agentic.Core.Agents;
using Agentic.Core.Json;
using Agentic.Core.Runs;

namespace Agentic.Runtime.Tests.Infrastructure;

/// <summary>Run requests built through the real parser, as the HTTP API and the queue listener build them.</summary>
internal static class Requests
{
    /// <summary>The principal that submits runs in these tests (and so may not approve them).</summary>
    public const string Requester = "alice";

    public static RunRequest Healer(string target, int? approvalTimeoutSeconds = null) =>
        Parse(new { agent = "service-healer", target, approvalTimeoutSeconds });

    public static RunRequest Diagnostics(string target, int probes, string? idempotencyKey = null) =>
        Parse(new { agent = "diagnostics", target, idempotencyKey, parameters = new { probes } });

    public static RunRequest Scaler(string target, int replicas) =>
        Parse(new { agent = "scaler", target, parameters = new { replicas } });

    /// <summary>The JSON body of a request, as a client sends it.</summary>
    public static string Body(object body) => JsonSerializer.Serialize(body, AgenticJson.Options);

    public static RunRequest Parse(object body, string principal = Requester) =>
        RunRequestParser.Parse(JsonSerializer.SerializeToUtf8Bytes(body, AgenticJson.Options), principal, AgentCatalog.Default);
}
