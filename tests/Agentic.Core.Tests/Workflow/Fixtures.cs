using System.Text.Json;
using Agentic.Core.Agents;
using Agentic.Core.Json;
using Agentic.Core.Policy;
using Agentic.Core.Runs;
using Agentic.Core.Workflow;

namespace Agentic.Core.Tests.Workflow;

/// <summary>The records activities and humans send back, shaped like the real ones.</summary>
internal static class Fixtures
{
    public const string Principal = "alice";
    public const string Approver = "bob";
    public const string Target = "http://svc.test";

    public static RunRequest Request { get; } = new()
    {
        Agent = "service-healer",
        Goal = "Keep the service healthy.",
        Target = Target,
        Principal = Principal,
        IdempotencyKey = "req-1",
        Environment = "prod",
        Parameters = AgenticJson.ToElement(new { }),
        ApprovalTimeout = TimeSpan.FromHours(1),
        Deadline = TimeSpan.FromHours(4),
    };

    /// <summary>Diagnose (read-only), restart (high risk), then verify: the service-healer's shape.</summary>
    public static Plan Remediation { get; } = new(
        "playbook:test@1",
        [
            Step("s1", "sample.diagnostics", new { }),
            Step("s2", "sample.restart", new { reason = "degraded" }),
        ],
        ExpectHealthy: true,
        "Diagnose, restart, verify.");

    public static PlanStep Step<T>(string id, string tool, T arguments) =>
        new(id, tool, AgenticJson.ToElement(arguments), $"Because {id} helps.");

    /// <summary>A plan of read-only steps with the given ids.</summary>
    public static Plan Plan(bool expectHealthy, params string[] stepIds) =>
        new("playbook:test@1", [.. stepIds.Select(id => Step(id, "sample.diagnostics", new { probe = id }))], expectHealthy, "Test plan.");

    public static Observation Observation(bool healthy, DateTimeOffset at)
    {
        var status = healthy ? "ok" : "degraded";
        return new("http-probe:http://svc.test/health", at, AgenticJson.Digest(status), healthy, status, AgenticJson.ToElement(new { status }));
    }

    public static GateDecision Decision(string runId, StepState step, GateEffect effect, DateTimeOffset at) =>
        new(runId, step.StepId, step.Tool, "1.0.0", step.ArgsDigest, effect, "baseline", "1",
            effect switch
            {
                GateEffect.Permit => "permit-read-only",
                GateEffect.RequireApproval => "approve-high-risk",
                _ => "default-deny",
            },
            $"{step.Tool} was judged.",
            effect == GateEffect.RequireApproval ? ShippedPolicies.ApproverRole : null,
            at);

    public static ApprovalDecision Approval(string argsDigest, DateTimeOffset at, string approver = Approver, string decision = "approve", string[]? roles = null, string? comment = "looks right") =>
        new(decision, approver, roles ?? [ShippedPolicies.ApproverRole], argsDigest, comment, at);

    public static ActResult ActResult(StepState step, bool replayed = false) =>
        new(step.Tool, "1.0.0", 200, $"{step.Tool} answered 200.", AgenticJson.ToElement(new { ok = true }), replayed);

    /// <summary>Commands as the JSON a host would persist: JsonElement has no value equality, the wire form does.</summary>
    public static string Json(IReadOnlyList<WorkflowCommand> commands) =>
        JsonSerializer.Serialize(commands, AgenticJson.Options);

    public static string Json(AgentRunState state) => JsonSerializer.Serialize(state, AgenticJson.Options);
}
