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
        Parse(body, AgentCatalog.Default, "dev", principal);

    /// <summary>
    /// Parses <paramref name="body"/> as a deployment in <paramref name="environment"/> offering <paramref name="agents"/>
    /// would, whose run targets are the fleet's services (the rule the runtimes of these tests are given).
    /// </summary>
    public static RunRequest Parse(object body, AgentCatalog agents, string environment, string principal = Requester)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(body, AgenticJson.Options);
        var target = JsonDocument.Parse(bytes).RootElement.TryGetProperty("target", out var t) ? t.GetString() : null;
        return RunRequestParser.Parse(bytes, principal, Admission(target is null ? null : new Uri(target), agents, environment));
    }

    /// <summary>Admission for the fleet service at <paramref name="target"/>: its address and port, paths under <c>/services/</c>.</summary>
    public static RunAdmission Admission(Uri? target, AgentCatalog agents, string environment = "dev")
    {
        var options = new TargetOptions();
        if (target is not null)
        {
            var rule = new Agentic.Core.Tools.Builtin.EndpointRule { Scheme = target.Scheme, Host = target.Host, Port = target.Port, AllowPrivate = true };
            rule.Paths.Add("/services/**");
            options.Allow.Add(rule);
        }
        return new RunAdmission(agents, environment, new RunTargets(options));
    }
}
