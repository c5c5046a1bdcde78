using System.Text.Json;
using Agentic.Core.Activities;
using Agentic.Core.Agents;
using Agentic.Core.Audit;
using Agentic.Core.Json;
using Agentic.Runtime.Tests.Infrastructure;
using Agentic.Testing;
using Microsoft.Extensions.DependencyInjection;
using Ids = Agentic.Core.Workflow.AgentWorkflow.Ids;

namespace Agentic.Runtime.Tests;

/// <summary>
/// Approvals reach people, on the engine and a real Azurite: a step that waits for approval is posted once to each
/// approval channel (with the facts an approver needs, a link to the inbox, the channel's own secret in its header and
/// nowhere else), a redelivered notification is not posted again, a hook that keeps failing is retried and then recorded,
/// and a wait that times out is posted too.
/// </summary>
public sealed class NotificationTests(AzuriteFixture azurite, FleetFixture fleet) : RuntimeTest(azurite, fleet), IClassFixture<FleetFixture>
{
    private const string HookSecret = "hook-secret-4c19a7e2";

    private static Dictionary<string, string?> Settings(LoopbackServer hook) => new()
    {
        ["Agentic:Notify:Channels:ops:Url"] = hook.Url + "/hooks/ops",
        ["Agentic:Notify:Channels:ops:AllowPrivate"] = "true",
        ["Agentic:Notify:Channels:ops:SecretHeader"] = "Authorization",
        ["Agentic:Notify:Channels:ops:Secret"] = "Bearer {ops-hook}",
        ["Agentic:Notify:Channels:ops:AllowSecretsOverHttp"] = "true",
        ["Agentic:Secrets:ops-hook"] = HookSecret,
        ["Agentic:Notify:Approvals:Channels:0"] = "ops",
        ["Agentic:Notify:Approvals:InboxUrl"] = "https://agentic.example.com/",
    };

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();

    private static async Task<List<StoredAuditRecord>> NotificationsAsync(LocalRuntime runtime, string runId)
    {
        var found = new List<StoredAuditRecord>();
        await foreach (var record in runtime.Services.GetRequiredService<IAuditStore>().ReadAsync(runId, 0, Ct))
        {
            if (record.Read()?.Kind == AuditKinds.Notification)
            {
                found.Add(record);
            }
        }
        return found;
    }

    [Fact]
    public async Task AWait_IsPostedOnce_WithWhatTheApproverNeeds_AndARedeliveryIsNotPostedAgain()
    {
        await using var hook = LoopbackServer.Json("""{"ok":true}""");
        var runtime = await StartRuntimeAsync(Settings(hook));

        var runId = await SubmitHealerAwaitingApprovalAsync(runtime);
        var run = await runtime.WaitForAsync(runId, r => r.View.Log.Any(l => l.Kind == "notified"), "notified");

        var posted = Assert.Single(hook.Requests);
        Assert.Equal(("POST", "/hooks/ops"), (posted.Method, posted.Path));
        Assert.Equal($"Bearer {HookSecret}", posted.Headers["Authorization"]);
        Assert.Equal($"{runId}/{Ids.Notify("s2")}", posted.Headers["Idempotency-Key"]);
        Assert.DoesNotContain(HookSecret, posted.Body, StringComparison.Ordinal);
        var body = Json(posted.Body);
        var pending = run.View.PendingApproval!;
        Assert.Equal((NotifyKinds.Requested, runId, "s2", "sample.restart", pending.ArgsDigest), (body.GetProperty("kind").GetString(), body.GetProperty("runId").GetString(),
            body.GetProperty("stepId").GetString(), body.GetProperty("tool").GetString(), body.GetProperty("argsDigest").GetString()));
        Assert.Equal(("approve-high-risk", "operator", 1), (body.GetProperty("policy").GetProperty("rule").GetString(), body.GetProperty("approverRole").GetString(), body.GetProperty("quorum").GetInt32()));
        Assert.Equal(pending.Deadline, body.GetProperty("deadline").GetDateTimeOffset());
        Assert.Equal($"https://agentic.example.com/#/approvals?run={runId}&step=s2", body.GetProperty("inbox").GetString());
        Assert.StartsWith("health probe reported ", body.GetProperty("arguments").GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.StartsWith($"Approval needed from role 'operator': run {runId} step s2 of agent service-healer wants sample.restart", body.GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.Contains("sent to ops", run.View.Log.Single(l => l.Kind == "notified").Message, StringComparison.Ordinal);
        var record = Assert.Single(await NotificationsAsync(runtime, runId)).Read()!;
        Assert.Equal(($"{Ids.Notify("s2")}/ops", true, 200), (record.Id, record.Data.GetProperty("sent").GetBoolean(), record.Data.GetProperty("status").GetInt32()));

        // The engine delivers the activity again (a lost acknowledgement): the recorded delivery answers, nothing is posted.
        var step = run.View.Steps.Single(s => s.StepId == "s2");
        var input = new NotifyInput(runId, "s2", NotifyKinds.Requested, "service-healer", Requests.Requester, run.View.Target, step.Tool, step.Arguments!.Value, step.ArgsDigest!,
            step.Decision!, "operator", 1, pending.Deadline!.Value, []);
        Assert.True(runtime.Services.GetRequiredService<ActivityRegistry>().TryGet(AgentActivities.Notify, out var notify));
        var again = AgenticJson.FromElement<NotifyResult>(await notify.RunAsync(AgenticJson.ToElement(input), new ActivityContext(runId, Ids.Notify("s2"), 2), Ct));

        Assert.Equal(new NotifyDelivery("ops", true, 200, true, null), Assert.Single(again.Deliveries));
        Assert.Single(hook.Requests);
        await DecideAsync(runtime, runId);
        Assert.Equal("completed", (await runtime.WaitTerminalAsync(runId)).Status);
        Assert.Single(hook.Requests);
        Assert.Empty(runtime.Network.Violations);
    }

    [Fact]
    public async Task AFailingHook_IsRetried_ThenTheFailureIsRecorded_AndTheApproverCanStillDecide()
    {
        await using var hook = LoopbackServer.Json("""{"error":"down"}""", status: 503);
        var runtime = await StartRuntimeAsync(Settings(hook));

        var runId = await SubmitHealerAwaitingApprovalAsync(runtime);
        var run = await runtime.WaitForAsync(runId, r => r.View.Log.Any(l => l.Kind == "notified"), "notified");

        Assert.Equal(3, hook.Requests.Count);
        Assert.Contains("not sent to ops: The approval notification: the channel 'ops' answered 503", run.View.Log.Single(l => l.Kind == "notified").Message, StringComparison.Ordinal);
        var record = Assert.Single(await NotificationsAsync(runtime, runId)).Read()!;
        Assert.False(record.Data.GetProperty("sent").GetBoolean());
        await DecideAsync(runtime, runId);
        Assert.Equal("completed", (await runtime.WaitTerminalAsync(runId)).Status);
    }

    [Fact]
    public async Task AWaitThatTimesOut_IsPostedWhenTheRunEnds()
    {
        await using var hook = LoopbackServer.Json("{}");
        var runtime = await StartRuntimeAsync(Settings(hook));

        var runId = await SubmitAsync(runtime, Requests.Healer(await Fleet.DegradedTargetAsync(), approvalTimeoutSeconds: 2));
        var ended = await runtime.WaitTerminalAsync(runId);

        Assert.Equal("failed", ended.Status);
        Assert.Contains("timed out", ended.View.FailureReason, StringComparison.Ordinal);
        var kinds = hook.Requests.Select(r => Json(r.Body).GetProperty("kind").GetString()).ToList();
        Assert.Equal([NotifyKinds.Requested, NotifyKinds.TimedOut], kinds);
        var timedOut = Json(hook.Requests.Last().Body);
        Assert.StartsWith("Approval timed out; the step was rejected", timedOut.GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.Equal($"{runId}/{Ids.TimedOutNotify("s2")}", hook.Requests.Last().Headers["Idempotency-Key"]);
        Assert.Equal([$"{Ids.Notify("s2")}/ops", $"{Ids.TimedOutNotify("s2")}/ops"], (await NotificationsAsync(runtime, runId)).Select(r => r.Read()!.Id));
    }
}
