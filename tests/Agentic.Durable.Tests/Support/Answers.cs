using System.Globalization;
using Agentic.Core.Agents;
using Agentic.Core.Json;
using Agentic.Core.Policy;
using Agentic.Core.Runs;
using Agentic.Core.Tools;

namespace Agentic.Durable.Tests.Support;

/// <summary>Requests, and the answers the outside world gives, shaped like the real activities' records.</summary>
internal static class Answers
{
    public const string Requester = "alice";
    /// <summary>The role the shipped policies name for approvals.</summary>
    public const string Operator = ShippedPolicies.ApproverRole;
    public const string Target = "http://svc.test";

    /// <summary>Fixed, so what the fakes answer is the same in every run (the determinism checks compare runs).</summary>
    public static readonly DateTimeOffset T0 = new(2025, 1, 1, 8, 0, 0, TimeSpan.Zero);

    /// <summary>A request as a host builds it after parsing, with a fresh idempotency key so its run id is known before it starts.</summary>
    public static RunRequest Request(string agent = "service-healer", TimeSpan? deadline = null, TimeSpan? approvalTimeout = null, object? parameters = null) => new()
    {
        Agent = agent,
        Goal = "Keep the service healthy.",
        Target = Target,
        Principal = Requester,
        IdempotencyKey = Guid.NewGuid().ToString("N"),
        Environment = "prod",
        Parameters = AgenticJson.ToElement(parameters ?? new { }),
        ApprovalTimeout = approvalTimeout ?? TimeSpan.FromHours(1),
        Deadline = deadline ?? TimeSpan.FromHours(4),
        Autonomy = AgentCatalog.Default.Get(agent).Autonomy,
        PrincipalRoles = ["requester"],
        Guards = AgentCatalog.Default.Get(agent).Guards,
        Replan = AgentCatalog.Default.Get(agent).Llm is { Replan: not ReplanMode.None } llm ? llm.Replan : null,
    };

    public static Observation Observation(bool healthy)
    {
        var status = healthy ? "ok" : "degraded";
        return new($"http-probe:{Target}/health", T0, AgenticJson.Digest(status), healthy, status, AgenticJson.ToElement(new { status }));
    }

    /// <summary>The shipped agent's own deterministic playbook, as the real plan activity runs it.</summary>
    public static Plan Playbook(PlanInput input) =>
        AgentCatalog.Default.Get(input.Agent) is { Llm: not null } ? ModelPlan(input) : AgentCatalog.Default.Get(input.Agent).Planner(input);

    /// <summary>
    /// What the plan activity returns for a language model agent, as a scripted model answered it, with the model's usage
    /// and the plan's taint (which the workflow carries to every step's gate input): for contract-intake, its one
    /// contract.record step with the extracted fields; for task, asked again after each action, first a look, then a
    /// change that depends on what the look returned, then nothing (done).
    /// </summary>
    public static Plan ModelPlan(PlanInput input)
    {
        if (input.Agent == "contract-intake")
        {
            return new("llm:contract-intake@1", [Step("record", "contract.record", new
            {
                title = "Support agreement",
                parties = new[] { new { name = "Contoso Ltd", role = "customer" }, new { name = "Fabrikam GmbH", role = "supplier" } },
                effectiveDate = "2026-02-01",
                value = new { amount = 24000, currency = "EUR" },
                clauses = new[] { new { kind = "confidentiality", excerpt = "Each party keeps the other's information confidential." } },
            })], ExpectHealthy: false, $"Scripted extraction of the contract at {input.Target}.")
            {
                Model = new Agentic.Core.Planning.ModelPlanning("default", "scripted-model", "contract-intake", "1", "sha256:" + new string('b', 64),
                    ["contract.record"], 1, 800, 300, 0.02, Tainted: true, ["signal:http-probe", "request.parameters"], []),
            };
        }
        var history = input.History ?? [];
        var (steps, rationale) = history.Count switch
        {
            0 => ((PlanStep[])[Step("s1", "sample.diagnostics", new { })], "Look first."),
            // The look's output names the step that ran: the change is sized from it, so a replay must hand the same output back.
            1 => ([Step("s1", "sample.scale", new { replicas = history[0].Output?.GetProperty("step").GetString() == "s1" ? 3 : 1 })], "Scale after the look."),
            _ => ([], $"Scaled {input.Target} to 3 replicas after looking."),
        };
        return new("llm:task-planner@2", steps, ExpectHealthy: false, rationale)
        {
            Model = new Agentic.Core.Planning.ModelPlanning("default", "scripted-model", "task-planner", "2", "sha256:" + new string('a', 64),
                ["sample.diagnostics", "sample.scale", "sample.restart"], 1, 500, 100, 0.01, Tainted: true, ["request.goal"], []),
        };
    }

    public static PlanStep Step(string id, string tool, object arguments) =>
        new(id, tool, AgenticJson.ToElement(arguments), $"Because {id} helps.");

    /// <summary>A plan of the given steps; <paramref name="expectHealthy"/> asks for the post-condition probe.</summary>
    public static Plan Plan(bool expectHealthy, params PlanStep[] steps) => new("playbook:test@1", steps, expectHealthy, "Test plan.");

    /// <summary><paramref name="count"/> read-only steps s1..sN with distinct arguments.</summary>
    public static PlanStep[] Probes(int count) =>
        [.. Enumerable.Range(1, count).Select(i => Step("s" + i.ToString(CultureInfo.InvariantCulture), "sample.diagnostics", new { probe = i }))];

    public static GateDecision Permit(GateInput input) => Decision(input, GateEffect.Permit, "permit-read-only", null);

    public static GateDecision Forbid(GateInput input) => Decision(input, GateEffect.Forbid, "forbid-restart-in-prod", null);

    public static GateDecision RequireApproval(GateInput input, ApprovalTerms terms) =>
        Decision(input, GateEffect.RequireApproval, "approve-high-risk", terms);

    /// <summary>A decision bound to the step and the digest of its exact arguments, as the real gate records it.</summary>
    private static GateDecision Decision(GateInput input, GateEffect effect, string rule, ApprovalTerms? terms) =>
        new(input.RunId, input.StepId, input.Tool, "1.0.0", AgenticJson.Digest(input.Arguments), effect, "baseline", "1", rule,
            $"{input.Tool} judged by rule '{rule}'.", terms?.Role, T0, "sha256:policy")
        {
            Approval = terms,
            Cost = 1,
            Autonomy = input.Autonomy,
            ToolHash = "sha256:tool-" + input.Tool,
        };

    public static ActResult Done(ActInput input) =>
        new(input.Tool, "1.0.0", 200, $"{input.Tool} answered 200.", AgenticJson.ToElement(new { ok = true, step = input.StepId }), Replayed: false);

    /// <summary>A reversible tool's result, naming the call that undoes it.</summary>
    public static ActResult Reversible(ActInput input, string undoTool, object undoArguments) =>
        Done(input) with { Compensation = new CompensationCall(undoTool, AgenticJson.ToElement(undoArguments)) };
}
