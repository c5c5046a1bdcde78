using System.Text.Json;
using Agentic.Core.Agents;
using Agentic.Core.Runs;
using Agentic.Durable.Tests.Support;

namespace Agentic.Durable.Tests;

/// <summary>
/// Replay safety of the orchestrator with each shipped agent's real playbook. The engine replays the orchestrator from
/// its history on every wake-up; a replay that issued anything else than the first execution did would corrupt runs in
/// flight. Checked twice: every execution of a run issues what the one before it issued, command by command (the
/// engine itself only compares task names); and a second run, whose activities answer exactly what the first run's
/// did, issues the very same commands with the very same inputs and ends the same way.
/// </summary>
public sealed class DeterminismTests(DurableHost host)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string> ShippedAgents => [.. AgentCatalog.Default.Names];

    [Theory]
    [MemberData(nameof(ShippedAgents))]
    public async Task ShippedAgent_ReplaysIdentically_AndARunOverTheRecordedAnswersIssuesTheSameCommands(string agent)
    {
        // Approvals are stamped by the run client's clock: frozen, so both runs receive the very same approval.
        var runs = host.Runs(new FrozenClock(Answers.T0));
        var first = new RunScript
        {
            Gate = g => g.Tool == "sample.restart" ? Answers.RequireApproval(g, new(Answers.Operator)) : Answers.Permit(g),
        };
        var firstId = await host.StartAsync(Request(agent), first);
        var firstRun = await DriveAsync(firstId, runs);

        var request = Request(agent);
        var secondId = RunIds.For(request);
        var second = new RunScript
        {
            Recorded = first.Outputs().ToDictionary(o => o.Key, o => Rebind(o.Value, firstId, secondId), StringComparer.Ordinal),
        };
        await host.StartAsync(request, second);
        var secondRun = await DriveAsync(secondId, runs);

        RunChecks.Ended(firstRun, "completed");
        RunChecks.Ended(secondRun, "completed");
        Assert.Equal(agent == "service-healer" ? "remediated" : "done", firstRun.View.Output?.Outcome);
        Assert.Equal(firstRun.View.Output, secondRun.View.Output);
        Assert.Equal(Shape(firstRun), Shape(secondRun));

        var firstCommands = Normalized(RunChecks.ReplayedIdentically(host, firstId), firstId);
        var secondCommands = Normalized(RunChecks.ReplayedIdentically(host, secondId), secondId);
        Assert.Equal(firstCommands, secondCommands);
        // What the recorder saw is what the fakes served: every activity, in order, once (nothing failed here); then the
        // run's end recorded by the real conclude activity.
        Assert.Equal(
            first.Calls.Select(c => c.CommandId).Append("conclude"),
            firstCommands.Where(c => c.StartsWith("activity ", StringComparison.Ordinal)).Select(CommandIdOf));
        Assert.Equal(
            first.Calls.Select(c => $"{c.Activity} {c.CommandId} {Normalize(c.Input.GetRawText(), firstId)}"),
            second.Calls.Select(c => $"{c.Activity} {c.CommandId} {Normalize(c.Input.GetRawText(), secondId)}"));
        if (AgentCatalog.Default.Get(agent).Llm is not null)
        {
            // A model's plan is tainted; every step's gate input says so, and the model's cost is in the run's budget.
            Assert.All(first.Calls.Where(c => c.Activity == AgentActivities.Gate), c => Assert.True(c.Input.GetProperty("tainted").GetBoolean(), c.Input.GetRawText()));
            Assert.True(firstRun.View.BudgetUsed >= 0.01);
            var plans = first.CallsOf(AgentActivities.Plan);
            if (AgentCatalog.Default.Get(agent).Llm!.Replan != ReplanMode.AfterEachAction)
            {
                // Asked once: one plan, whose steps all ran under the ids the model gave them.
                Assert.Equal(["plan"], plans.Select(c => c.CommandId));
                Assert.Equal(Answers.ModelPlan(plans[0].InputAs<PlanInput>()).Steps.Select(s => s.StepId), firstRun.View.Steps.Select(s => s.StepId));
            }
            else
            {
                // Asked again after each action, under stable ids: each plan read what every step before it did, the
                // change was sized from the look's output, and the plan with no steps ended the run with its rationale.
                Assert.Equal(["plan", "plan.2", "plan.3"], plans.Select(c => c.CommandId));
                Assert.Equal([0, 1, 2], plans.Select(c => c.InputAs<PlanInput>().History?.Count ?? 0));
                Assert.Equal(["s1", "p2.s1"], firstRun.View.Steps.Select(s => s.StepId));
                Assert.Equal(3, firstRun.View.Steps[1].Arguments!.Value.GetProperty("replicas").GetInt32());
                Assert.Equal($"Scaled {Answers.Target} to 3 replicas after looking.", firstRun.View.Output?.Summary);
            }
        }
        // The run's end is in its audit chain and under a signed checkpoint by the time the run reports it ended.
        var audit = await (await host.Audit.VerifierAsync(Ct)).VerifyAsync([firstId], Ct);
        Assert.True(audit.Valid);
        Assert.NotNull(await host.Audit.Store.FindAsync(firstId, Agentic.Core.Audit.AuditEntries.OutcomeId, Ct));
        Assert.Equal(audit.Chains[0].Records, audit.Chains[0].Coverage?.Length);
        // The run's deadline is one timer for the whole run; the approval timeout one per approval asked.
        Assert.Single(firstCommands, c => c == "timer +04:00:00");
        Assert.Equal(firstRun.View.Steps.Count(s => s.Approval is not null), firstCommands.Count(c => c == "timer +01:00:00"));
    }

    private static RunRequest Request(string agent) => Answers.Request(agent, parameters: agent switch
    {
        "diagnostics" => new { probes = 4 },
        "scaler" => new { replicas = 5 },
        _ => null,
    });

    /// <summary>Approves whatever the run asks for, until it ends.</summary>
    private async Task<AgentRun> DriveAsync(string runId, AgentRunClient runs)
    {
        while (true)
        {
            var run = await host.WaitForAsync(runId, r => !r.IsRunning || r.View.PendingApproval is not null, "end or pending approval");
            if (!run.IsRunning)
            {
                return run;
            }
            var step = run.View.PendingApproval!.StepId;
            Assert.Equal(ApprovalRefusal.None, (await runs.DecideAsync(runId, step, approve: true, "approved", "bob", [Answers.Operator], Ct)).Refusal);
            await host.WaitForAsync(runId, r => r.View.PendingApproval?.StepId != step, $"approval of {step} taken");
        }
    }

    // The run's story without its wall-clock times.
    private static string Shape(AgentRun run) => string.Join(" | ",
        run.View.Steps.Select(s => $"{s.StepId} {s.Tool} {s.Status}").Concat(run.View.Log.Select(e => $"{e.Kind} {e.StepId}")));

    // "activity {name} retry={policy} {envelope}": the envelope names the decider's command.
    private static string? CommandIdOf(string activity)
    {
        using var envelope = JsonDocument.Parse(activity[activity.IndexOf('{', StringComparison.Ordinal)..]);
        return envelope.RootElement.GetProperty("commandId").GetString();
    }

    private static List<string> Normalized(IEnumerable<string> commands, string runId) => [.. commands.Select(c => Normalize(c, runId))];

    private static string Normalize(string text, string runId) => text.Replace(runId, "{run}", StringComparison.Ordinal);

    private static JsonElement Rebind(JsonElement output, string from, string to)
    {
        using var document = JsonDocument.Parse(output.GetRawText().Replace(from, to, StringComparison.Ordinal));
        return document.RootElement.Clone();
    }

    private sealed class FrozenClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
