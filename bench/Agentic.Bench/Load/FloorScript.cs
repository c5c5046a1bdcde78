using System.Text.Json;
using Agentic.Bench.Simulation;
using Agentic.Core.Agents;
using Agentic.Core.Json;
using Agentic.Core.Workflow;
using Agentic.Runtime.Queues;
using Azure.Data.Tables;

namespace Agentic.Bench.Load;

/// <summary>Which storage object an operation touches.</summary>
internal enum Target
{
    Runs,
    Ledger,
    Work,
    Control,
}

/// <summary>
/// One storage operation of the floor, or a <see cref="Mark"/> where the runner stamps a run log entry.
/// <see cref="Part"/> says what it belongs to: <c>run</c> (start, perceive, plan) or a step id.
/// </summary>
internal abstract record FloorOp(Target On, string Part, string What);

/// <summary>An entity-group transaction on the runs table. <see cref="RunRow"/> (first) carries the run's ETag.</summary>
internal sealed record Transaction(string Part, string What, TableTransactionActionType? RunRowAction, TableEntity? RunRow, IReadOnlyList<(TableTransactionActionType Action, TableEntity Entity)> Rows)
    : FloorOp(Target.Runs, Part, What);

/// <summary>A point read.</summary>
internal sealed record Get(Target Table, string Part, string What, string PartitionKey, string RowKey) : FloorOp(Table, Part, What);

/// <summary>An upsert (replace).</summary>
internal sealed record Upsert(Target Table, string Part, string What, TableEntity Entity) : FloorOp(Table, Part, What);

/// <summary>A message sent, hidden for <see cref="Delay"/>.</summary>
internal sealed record Send(Target Queue, string Part, string What, string Body, TimeSpan? Delay) : FloorOp(Queue, Part, What);

/// <summary>One message received (leased).</summary>
internal sealed record Receive(Target Queue, string Part, string What) : FloorOp(Queue, Part, What);

/// <summary>The message received last from that queue deleted.</summary>
internal sealed record Delete(Target Queue, string Part, string What) : FloorOp(Queue, Part, What);

/// <summary>Not an operation: the instant the runner stamps log entry <see cref="Kind"/> (activity completion time).</summary>
internal sealed record Mark(string Part, string Kind, string? StepId) : FloorOp(Target.Runs, Part, Kind);

/// <summary>
/// The storage operations the local runner performs for one run of the diagnostics agent, in order, with
/// the same entities and message bodies (state snapshots and messages come from the real decider through
/// <see cref="DiagnosticsRun"/> and are serialized the way DurableRunner and ActivityWorker serialize them).
/// <para>
/// Counted from Shared/Agentic.Runtime (DurableRunner.cs, ActivityWorker.cs, Queues/QueuePump.cs),
/// Shared/Agentic.Core/Activities (GateActivity.cs, ActActivity.cs) and Shared/Agentic.Azure/TableGovernanceStore.cs.
/// One step of the diagnostics plan is a Gate activity and an Act activity of a read-only tool, 18 operations:
/// </para>
/// <code>
///  gate activity (work pump, ActivityWorker)     work: receive 1          QueuePump.RunAsync (receives up to 32 at once: 1 per message at worst)
///                                                ledger: upsert 1         GateActivity -> TableGovernanceStore.RecordDecisionAsync
///                                                control: send 1          ActivityWorker.ReportAsync -> DurableRunner.SendControlAsync
///                                                work: delete 1           QueuePump.HandleAsync after the handler
///  apply "gate done" (control pump, Apply)       control: receive 1
///                                                runs: transaction 1      run row (UpdateReplace, ETag) + evt| row (Add) + out| row for act (UpsertReplace);
///                                                                         no read: DurableRunner.LoadAsync answers from its cache after the first event
///                                                work: send 1             DispatchAsync (the act work item)
///                                                runs: transaction 1      DispatchAsync deletes the dispatched out| rows
///                                                control: delete 1
///  act activity (read-only tool: no ledger       work: receive 1
///   intent/outcome rows, ActActivity)            ledger: get 1            ActActivity.EnsureAuthorizedAsync -> GetDecisionAsync (Permit: no approval read)
///                                                control: send 1, work: delete 1
///  apply "act done"                              control: receive 1, runs: transaction 1 (run + evt + out| of the next gate),
///                                                work: send 1, runs: transaction 1 (outbox delete), control: delete 1
///  = queues 12 (4 receive, 4 send, 4 delete), tables 6 (4 transactions on runs, 1 upsert + 1 get on ledger).
/// </code>
/// The last step has 16: completing the run dispatches nothing (no work send, no outbox delete). Per run,
/// start + perceive + plan add 21: StartAsync's transaction (run row + 2 out| rows: perceive, deadline
/// timer), 2 sends (perceive work, the deadline timer hidden until the deadline), the outbox delete; the
/// perceive and plan activities (receive, send, delete each); and their two applies (the first one reads
/// the run row: the cache is empty after start). So a run of K steps costs 21 + 18 K - 2 operations;
/// lease renewals cost none while an activity takes less than a third of the lease.
/// </summary>
internal sealed class FloorScript
{
    private FloorScript(string runId, IReadOnlyList<FloorOp> ops)
    {
        RunId = runId;
        Ops = ops;
    }

    public string RunId { get; }

    public IReadOnlyList<FloorOp> Ops { get; }

    /// <summary>The storage operations (marks excluded).</summary>
    public IEnumerable<FloorOp> Operations => Ops.Where(o => o is not Mark);

    /// <summary>Builds the script of one run from a simulation of it started at the real time (the deadline timer is hidden from then).</summary>
    public static FloorScript Build(SimulatedRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        var runId = run.Start.RunId;
        var now = run.Start.StartedAt;
        var ops = new List<FloorOp>();

        // DurableRunner.StartAsync: one transaction (run row Add + outbox rows), then dispatch.
        var outbox = Outbox(runId, run.StartCommands, [], now);
        ops.Add(new Transaction("run", "start: run row + outbox", TableTransactionActionType.Add, RunRow(runId, run.Start, run.StartCommands, now, 0), Upserts(outbox)));
        Dispatch(ops, "run", outbox, now);

        var issued = Outstanding(run.StartCommands);
        var first = true;
        for (var i = 0; i < run.Hops.Count; i++)
        {
            var hop = run.Hops[i];
            var part = hop.Call.Name is AgentActivities.Gate or AgentActivities.Act ? hop.Call.Id[..hop.Call.Id.IndexOf('/', StringComparison.Ordinal)] : "run";
            var activity = hop.Call.Name.ToLowerInvariant();

            // ActivityWorker.HandleAsync under QueuePump.
            ops.Add(new Receive(Target.Work, part, activity + ": receive work item"));
            switch (hop.Call.Name)
            {
                case AgentActivities.Gate:
                {
                    var decision = AgenticJson.FromElement<GateDecision>(hop.Done.Result);
                    ops.Add(new Upsert(Target.Ledger, part, "gate: record decision", new TableEntity(runId, "decision|" + decision.StepId)
                    {
                        ["Json"] = JsonSerializer.Serialize(decision, AgenticJson.Options),
                    }));
                    ops.Add(new Mark(part, "decided", decision.StepId));
                    break;
                }
                case AgentActivities.Act:
                {
                    var stepId = part;
                    ops.Add(new Get(Target.Ledger, part, "act: read decision", runId, "decision|" + stepId));
                    ops.Add(new Mark(part, "acted", stepId));
                    break;
                }
                case AgentActivities.Plan:
                    ops.Add(new Mark(part, "planned", null));
                    break;
                default:
                    ops.Add(new Mark(part, "perceived", null));
                    break;
            }
            var control = new ControlMessage(runId, "done:" + hop.Call.Id, hop.Done, null, null);
            ops.Add(new Send(Target.Control, part, activity + ": report completion", JsonSerializer.Serialize(control, AgenticJson.Options), null));
            ops.Add(new Delete(Target.Work, part, activity + ": delete work item"));

            // DurableRunner.ApplyAsync under QueuePump (control).
            ops.Add(new Receive(Target.Control, part, "apply: receive event"));
            if (first)
            {
                ops.Add(new Get(Target.Runs, part, "apply: read run row (cache empty after start)", runId, "run"));
                first = false;
            }
            outbox = Outbox(runId, hop.Commands, issued, now);
            var rows = new List<(TableTransactionActionType, TableEntity)>
            {
                (TableTransactionActionType.Add, new TableEntity(runId, "evt|" + Uri.EscapeDataString(control.EventId)) { ["Kind"] = nameof(ActivityCompleted), ["At"] = hop.Done.At }),
            };
            rows.AddRange(Upserts(outbox));
            ops.Add(new Transaction(part, "apply: commit run row + evt + outbox", TableTransactionActionType.UpdateReplace, RunRow(runId, hop.After, hop.Commands, now, i + 1), rows));
            Dispatch(ops, part, outbox, now);
            ops.Add(new Delete(Target.Control, part, "apply: delete event"));
            issued = Outstanding(hop.Commands);
        }
        return new FloorScript(runId, ops);
    }

    private static void Dispatch(List<FloorOp> ops, string part, List<TableEntity> outbox, DateTimeOffset now)
    {
        if (outbox.Count == 0)
        {
            return;
        }
        foreach (var row in outbox)
        {
            var queue = row.GetString("Queue") == "work" ? Target.Work : Target.Control;
            var delay = row.GetDateTimeOffset("VisibleAt")!.Value - now;
            ops.Add(new Send(queue, part, "dispatch: " + (queue == Target.Work ? "work item" : "timer"), row.GetString("Body")!, delay > TimeSpan.Zero ? delay : null));
        }
        ops.Add(new Transaction(part, "dispatch: delete outbox rows", null, null,
            [.. outbox.Select(r => (TableTransactionActionType.Delete, new TableEntity(r.PartitionKey, r.RowKey)))]));
    }

    private static List<(TableTransactionActionType, TableEntity)> Upserts(List<TableEntity> outbox) =>
        [.. outbox.Select(o => (TableTransactionActionType.UpsertReplace, o))];

    // The shapes below mirror DurableRunner.SetStateAsync / OutboxAsync / Outbox.
    private static TableEntity RunRow(string runId, AgentRunState state, IReadOnlyList<WorkflowCommand> commands, DateTimeOffset now, int events) => new(runId, "run")
    {
        ["CreatedAt"] = now,
        ["Events"] = events,
        ["State"] = JsonSerializer.SerializeToUtf8Bytes(state, AgenticJson.Options),
        ["StateRef"] = null,
        ["Status"] = state.Phase == RunPhase.Completed ? "Completed" : "Running",
        ["Outstanding"] = JsonSerializer.Serialize(Outstanding(commands), AgenticJson.Options),
        ["UpdatedAt"] = now,
    };

    private static HashSet<string> Outstanding(IReadOnlyList<WorkflowCommand> commands) =>
        [.. commands.Where(c => c is CallActivity or StartTimer or WaitForEvent).Select(c => c.Id)];

    private static List<TableEntity> Outbox(string runId, IReadOnlyList<WorkflowCommand> commands, HashSet<string> issued, DateTimeOffset now)
    {
        var rows = new List<TableEntity>();
        foreach (var command in commands.Where(c => !issued.Contains(c.Id)))
        {
            switch (command)
            {
                case CallActivity call:
                    var item = new WorkItem(runId, call.Id, call.Name, call.Input, null, 1, call.Retry, call.Timeout);
                    rows.Add(OutboxRow(runId, call.Id, "work", JsonSerializer.Serialize(item, AgenticJson.Options), now));
                    break;
                case StartTimer timer:
                    var message = new ControlMessage(runId, "timer:" + timer.Id, null, null, new TimerMessage(timer.Id, timer.FireAt));
                    rows.Add(OutboxRow(runId, timer.Id, "control", JsonSerializer.Serialize(message, AgenticJson.Options), timer.FireAt));
                    break;
            }
        }
        return rows;
    }

    private static TableEntity OutboxRow(string runId, string commandId, string queue, string body, DateTimeOffset visibleAt) =>
        new(runId, "out|" + Uri.EscapeDataString(commandId)) { ["Queue"] = queue, ["Body"] = body, ["VisibleAt"] = visibleAt };
}
