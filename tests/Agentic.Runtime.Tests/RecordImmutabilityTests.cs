using System.Text.Json;
using Agentic.Azure;
using Agentic.Core.Activities;
using Agentic.Core.Agents;
using Agentic.Core.Governance;
using Agentic.Core.Json;
using Agentic.Core.Policy;
using Agentic.Core.Policy.Language;
using Agentic.Core.Policy.Lifecycle;
using Agentic.Core.Tools;
using Agentic.Durable;
using Agentic.Runtime.Tests.Infrastructure;
using Agentic.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Agentic.Runtime.Tests;

/// <summary>
/// Decisions and approvals are insert-only on a real Azurite: a gate executed again answers the decision stored first,
/// whatever policy is active by then, and an approver's answer for a step is stored once and never rewritten.
/// </summary>
public sealed class RecordImmutabilityTests(AzuriteFixture azurite, FleetFixture fleet) : RuntimeTest(azurite, fleet), IClassFixture<FleetFixture>
{
    private const string Admin = "carol";

    [Fact]
    public async Task Gate_DeliveredTwiceUnderTwoActivePolicies_StoresAndReturnsTheFirstDecision()
    {
        var runtime = await StartWithPolicyStoreAsync();
        var store = runtime.Services.GetRequiredService<IPolicyStore>();
        await EnforceAsync(store, "lenient", "1", forbidden: null);
        var gate = Gate(runtime);

        var first = await DecideAsync(gate, Input("run-twice", "s1"));
        await EnforceAsync(store, "strict", "1", forbidden: "sample.diagnostics");
        var again = await DecideAsync(gate, Input("run-twice", "s1"));

        Assert.Equal((GateEffect.Permit, "lenient", "1"), (first.Effect, first.PolicyId, first.PolicyVersion));
        Assert.Equal(Json(first), Json(again));
        Assert.Equal(Json(first), Json(await runtime.Governance.GetDecisionAsync("run-twice", "s1", Ct)));
        // The newer policy is in force and would decide otherwise: a step the gate has not decided yet gets its answer.
        var fresh = await DecideAsync(gate, Input("run-twice", "s2"));
        Assert.Equal((GateEffect.Forbid, "strict", "no-sample-diagnostics"), (fresh.Effect, fresh.PolicyId, fresh.Rule));
    }

    [Fact]
    public async Task Gate_ExecutedConcurrentlyUnderTwoPolicies_EveryAttemptAnswersTheOneStoredDecision()
    {
        // Two workers gating the same step at once, each seeing another active policy (one refreshed its cache, one did
        // not): both miss the stored decision, both evaluate, and only the first insert stands.
        var runtime = await StartRuntimeAsync();
        var tools = runtime.Services.GetRequiredService<ToolRegistry>();
        var controls = runtime.Services.GetRequiredService<IControlStore>();
        for (var round = 0; round < 4; round++)
        {
            var runId = $"run-race-{round}";
            // Each gate asks for its policy after it found no stored decision; neither goes on before both have asked.
            var meeting = new Meeting(2);
            var permit = new MeetingPolicy(PolicyLoader.Load(PolicyText("lenient", "1", null), "lenient.yaml"), meeting);
            var forbid = new MeetingPolicy(PolicyLoader.Load(PolicyText("strict", "1", "sample.diagnostics"), "strict.yaml"), meeting);
            var gates = new[] { permit, forbid }.Select(p => new GateActivity(p, tools, runtime.Governance, controls, runtime.Services.GetRequiredService<Agentic.Core.Audit.AuditLog>(), TimeProvider.System));

            var answers = await Task.WhenAll(gates.Select(g => DecideAsync(g, Input(runId, "s1"))));

            var stored = await runtime.Governance.GetDecisionAsync(runId, "s1", Ct);
            Assert.NotNull(stored);
            Assert.All(answers, a => Assert.Equal(Json(stored), Json(a)));
        }
    }

    [Fact]
    public async Task Approval_IsStoredOncePerApproverAndStep_AndASecondAnswerNeverReplacesIt()
    {
        var runtime = await StartRuntimeAsync();
        var governance = runtime.Governance;
        var at = DateTimeOffset.UtcNow;
        var approve = new ApprovalDecision("approve", "bob", ["operator"], "sha256:args", "first", at);

        var first = await governance.RecordApprovalAsync("run-a", "s2", approve, Ct);
        var changed = await governance.RecordApprovalAsync("run-a", "s2", approve with { Decision = "reject", Comment = "changed my mind", DecidedAt = at.AddMinutes(1) }, Ct);
        var otherCase = await governance.RecordApprovalAsync("run-a", "s2", approve with { Approver = "BOB", Comment = "again" }, Ct);
        var erin = await governance.RecordApprovalAsync("run-a", "s2", approve with { Approver = "erin", Comment = "second approver" }, Ct);
        var otherStep = await governance.RecordApprovalAsync("run-a", "s3", approve with { Decision = "reject", Comment = "other step" }, Ct);

        Assert.Equal(Json(approve), Json(first));
        Assert.Equal(Json(approve), Json(changed));
        Assert.Equal(Json(approve), Json(otherCase));
        Assert.Equal("second approver", erin.Comment);
        Assert.Equal("reject", otherStep.Decision);
        var stored = await governance.GetApprovalsAsync("run-a", "s2", Ct);
        Assert.Equal(["bob:approve:first", "erin:approve:second approver"], stored.Select(a => $"{a.Approver}:{a.Decision}:{a.Comment}").Order(StringComparer.Ordinal));
        Assert.Equal("reject", Assert.Single(await governance.GetApprovalsAsync("run-a", "s3", Ct)).Decision);
    }

    [Fact]
    public async Task Approval_TwoAnswersByOneApproverAtOnce_OneIsAcceptedAndStored_TheOtherRefused()
    {
        var runtime = await StartRuntimeAsync();
        var runId = await SubmitHealerAwaitingApprovalAsync(runtime);

        var results = await Task.WhenAll(
            runtime.Runs.DecideAsync(runId, "s2", approve: true, "go", Approver, ["operator"], Ct),
            runtime.Runs.DecideAsync(runId, "s2", approve: false, "stop", Approver, ["operator"], Ct));

        var accepted = Assert.Single(results, r => r.Refusal == ApprovalRefusal.None);
        var refused = Assert.Single(results, r => r.Refusal == ApprovalRefusal.Forbidden);
        Assert.Contains("a recorded answer is not changed", refused.Detail, StringComparison.Ordinal);
        var stored = Assert.Single(await runtime.Governance.GetApprovalsAsync(runId, "s2", Ct));
        Assert.Equal(accepted.Approval!.Decision, stored.Decision);
        var run = await runtime.WaitTerminalAsync(runId);
        Assert.Equal(accepted.Approval.Approved ? "completed" : "failed", run.Status);
    }

    private async Task<LocalRuntime> StartWithPolicyStoreAsync()
    {
        var settings = new Dictionary<string, string?> { ["Agentic:Policy:RefreshSeconds"] = "0" };
        return await StartRuntimeAsync(settings, s => s.AddAgenticPolicyStore(new ConfigurationBuilder().AddInMemoryCollection(settings).Build()));
    }

    private static IActivity Gate(LocalRuntime runtime)
    {
        Assert.True(runtime.Services.GetRequiredService<ActivityRegistry>().TryGet(AgentActivities.Gate, out var gate));
        return gate;
    }

    private static GateInput Input(string runId, string stepId)
    {
        var args = AgenticJson.ToElement(new { probe = 1 });
        return new GateInput(runId, stepId, Requests.Requester, "diagnostics", "dev", "sample.diagnostics", args, AgenticJson.Digest(args), 0)
        {
            Autonomy = "autonomous",
            Target = "checkout",
        };
    }

    private static async Task<GateDecision> DecideAsync(IActivity gate, GateInput input) =>
        AgenticJson.FromElement<GateDecision>(await gate.RunAsync(AgenticJson.ToElement(input), new ActivityContext(input.RunId, input.StepId + "/gate", 1), Ct));

    private static string Json<T>(T value) => JsonSerializer.Serialize(value, AgenticJson.Options);

    private static async Task EnforceAsync(IPolicyStore store, string id, string version, string? forbidden)
    {
        await store.SaveAsync(id, version, PolicyText(id, version, forbidden), Admin, Ct);
        await store.ActivateAsync(id, version, PolicyMode.Enforce, Admin, $"enforce {id}@{version}", Ct);
    }

    /// <summary>A policy permitting read-only tools, forbidding <paramref name="forbidden"/> first when given.</summary>
    private static string PolicyText(string id, string version, string? forbidden)
    {
        var forbid = forbidden is null ? "" : $"  - id: no-{forbidden.Replace('.', '-')}\n    effect: forbid\n    when: tool.name == '{forbidden}'\n";
        return $"id: {id}\nversion: \"{version}\"\nrules:\n{forbid}  - id: permit-read-only\n    effect: permit\n    when: tool.sideEffect == 'read-only'\n";
    }

    /// <summary>Completes for everyone once <paramref name="parties"/> have arrived.</summary>
    private sealed class Meeting(int parties)
    {
        private readonly TaskCompletionSource _all = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _arrived;

        public Task ArriveAsync()
        {
            if (Interlocked.Increment(ref _arrived) == parties)
            {
                _all.TrySetResult();
            }
            return _all.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        }
    }

    private sealed class MeetingPolicy(CompiledPolicy policy, Meeting meeting) : IPolicyProvider
    {
        public async ValueTask<ActivePolicies> GetAsync(CancellationToken cancellationToken)
        {
            await meeting.ArriveAsync();
            return new ActivePolicies(policy);
        }
    }
}
