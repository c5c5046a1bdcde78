using System.Collections.Concurrent;
using Agentic.Core.Agents;

namespace Agentic.Core.Planning;

// WARNING: PlanOrigin is persisted in run state (RunSignal), activity inputs (GateInput, ConcludeInput) and the drift
// table; the kinds are stored with every drift row. Add members as optional; never rename a kind.

/// <summary>
/// The kinds of planning drift: signs that a planner (a prompt version on a model, or a playbook version) proposes what
/// the deployment does not want. Each is recorded at most once per run and command (<see cref="DriftEvent"/>).
/// </summary>
public static class DriftKinds
{
    /// <summary>A plan round in which the model answered with something that is not a valid plan (each refused answer went back to it).</summary>
    public const string PlanInvalid = "plan-invalid";

    /// <summary>A plan round in which the model proposed a tool it was not offered.</summary>
    public const string ToolNotOffered = "tool-not-offered";

    /// <summary>A step a model proposed that the gate forbade (by policy, not by an operator's kill switch or quarantine).</summary>
    public const string ToolForbidden = "tool-forbidden";

    /// <summary>A step a human rejected.</summary>
    public const string ApprovalRejected = "approval-rejected";

    /// <summary>A step whose approval timed out (after any escalation), which rejects it.</summary>
    public const string ApprovalTimeout = "approval-timeout";

    /// <summary>A post-condition check that found the target still unhealthy after a plan ran.</summary>
    public const string PostConditionFailed = "post-condition-failed";

    /// <summary>Not drift: a plan round asked of the planner, the denominator of every rate.</summary>
    public const string Plan = "plan";

    /// <summary>Every drift kind, in the order reports list them.</summary>
    public static IReadOnlyList<string> All { get; } = [PlanInvalid, ToolNotOffered, ToolForbidden, ApprovalRejected, ApprovalTimeout, PostConditionFailed];
}

/// <summary>
/// Which planner made a plan: its kind (<c>llm</c>, <c>playbook</c>, <c>code</c>), the planner id the plan names
/// (<c>llm:task-planner@2</c>, <c>playbook:service-healer@1</c>), and for a model its prompt template and model id. Drift is
/// counted per origin, so a new prompt version or model shows up as its own line.
/// </summary>
public sealed record PlanOrigin(string PlannerKind, string Planner)
{
    /// <summary>An agent built in code (a test's scripted planner).</summary>
    public const string CodePlanner = "code";

    /// <summary>The prompt template's id (language model plans).</summary>
    public string? PromptId { get; init; }

    /// <summary>The prompt template's version (language model plans).</summary>
    public string? PromptVersion { get; init; }

    /// <summary>The agent definition's version; for a playbook, the playbook's version.</summary>
    public string? AgentVersion { get; init; }

    /// <summary>The model id (or deployment) called (language model plans).</summary>
    public string? Model { get; init; }

    /// <summary>Whether a language model made the plan.</summary>
    public bool IsModel => PlannerKind == AgentLoader.LlmPlanner;

    /// <summary>The origin of <paramref name="plan"/>.</summary>
    public static PlanOrigin Of(Plan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (plan.Model is { } model)
        {
            return Of(model, plan.AgentVersion);
        }
        var playbook = plan.Planner.StartsWith(AgentLoader.PlaybookPlanner + ":", StringComparison.Ordinal);
        var at = plan.Planner.LastIndexOf('@');
        return new(playbook ? AgentLoader.PlaybookPlanner : CodePlanner, plan.Planner)
        {
            AgentVersion = plan.AgentVersion ?? (playbook && at > 0 ? plan.Planner[(at + 1)..] : null),
        };
    }

    /// <summary>The origin of a model's plan (or of an answer refused before there was one).</summary>
    public static PlanOrigin Of(ModelPlanning model, string? agentVersion)
    {
        ArgumentNullException.ThrowIfNull(model);
        return new(AgentLoader.LlmPlanner, $"{AgentLoader.LlmPlanner}:{model.PromptId}@{model.PromptVersion}")
        {
            PromptId = model.PromptId,
            PromptVersion = model.PromptVersion,
            AgentVersion = agentVersion,
            Model = model.ModelId,
        };
    }
}

/// <summary>
/// One drift signal of one run, keyed by run, command and kind: a redelivered activity records the same key again, which
/// changes nothing. <see cref="DriftKinds.Plan"/> rows count the plan rounds the rates divide by.
/// </summary>
/// <param name="Agent">The agent.</param>
/// <param name="RunId">The run.</param>
/// <param name="CommandId">The workflow command it happened under (<c>plan.2</c>, <c>s1/gate</c>, <c>s2/approval</c>, <c>verify</c>).</param>
/// <param name="Kind">One of <see cref="DriftKinds"/>.</param>
/// <param name="At">When it happened.</param>
/// <param name="Origin">The planner whose plan it concerns.</param>
public sealed record DriftEvent(string Agent, string RunId, string CommandId, string Kind, DateTimeOffset At, PlanOrigin Origin)
{
    /// <summary>The most characters of a reason kept.</summary>
    public const int MaxReasonLength = 1000;

    /// <summary>The step it concerns, if any.</summary>
    public string? StepId { get; init; }

    /// <summary>The tool it concerns, if any (the forbidden or rejected step's, the first one not offered).</summary>
    public string? Tool { get; init; }

    /// <summary>Why, in the words of whoever decided (the planner's checks, the policy rule, the approver's comment); capped.</summary>
    public string? Reason { get; init; }

    /// <summary>This event with its reason cut to <see cref="MaxReasonLength"/>.</summary>
    public DriftEvent Capped() => Reason is { Length: > MaxReasonLength } reason ? this with { Reason = string.Concat(reason.AsSpan(0, MaxReasonLength - 1), "…") } : this;
}

/// <summary>Where drift events are kept: one row per run, command and kind, listed per agent over a time range.</summary>
public interface IDriftStore
{
    /// <summary>Records <paramref name="drift"/> unless an event with its run, command and kind is recorded: <c>true</c> when this call recorded it.</summary>
    Task<bool> RecordAsync(DriftEvent drift, CancellationToken cancellationToken);

    /// <summary>The events of <paramref name="agent"/> that happened from <paramref name="since"/> to <paramref name="until"/> (both included).</summary>
    Task<IReadOnlyList<DriftEvent>> ListAsync(string agent, DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes up to <paramref name="max"/> events of any agent that happened before <paramref name="before"/>, and answers
    /// how many it deleted (<paramref name="max"/> when there may be more).
    /// </summary>
    Task<int> PurgeAsync(DateTimeOffset before, int max, CancellationToken cancellationToken);
}

/// <summary>An <see cref="IDriftStore"/> in memory, for tests and tools without storage.</summary>
public sealed class InMemoryDriftStore : IDriftStore
{
    private readonly ConcurrentDictionary<(string Agent, string RunId, string CommandId, string Kind), DriftEvent> _events = new();

    /// <summary>Every event recorded, in no particular order.</summary>
    public IReadOnlyCollection<DriftEvent> Events => [.. _events.Values];

    /// <inheritdoc />
    public Task<bool> RecordAsync(DriftEvent drift, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(drift);
        return Task.FromResult(_events.TryAdd((drift.Agent, drift.RunId, drift.CommandId, drift.Kind), drift.Capped()));
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<DriftEvent>> ListAsync(string agent, DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<DriftEvent>>([.. _events.Values.Where(e => e.Agent == agent && e.At >= since && e.At <= until)]);

    /// <inheritdoc />
    public Task<int> PurgeAsync(DateTimeOffset before, int max, CancellationToken cancellationToken)
    {
        var purged = 0;
        foreach (var (key, drift) in _events)
        {
            if (purged == max)
            {
                break;
            }
            if (drift.At < before && _events.TryRemove(key, out _))
            {
                purged++;
            }
        }
        return Task.FromResult(purged);
    }
}

/// <summary>Records drift where it happens (the plan, gate and conclude activities) and counts it as a metric once.</summary>
public static class DriftRecorder
{
    /// <summary>
    /// Records each event in <paramref name="store"/> (nothing without one); an event recorded for the first time also
    /// counts in <c>agentic.drift.events</c>, so a redelivered activity counts nothing twice.
    /// </summary>
    public static async Task RecordAsync(IDriftStore? store, IEnumerable<DriftEvent> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (store is null)
        {
            return;
        }
        foreach (var drift in events)
        {
            if (await store.RecordAsync(drift.Capped(), cancellationToken) && drift.Kind != DriftKinds.Plan)
            {
                PlanningMetrics.Drift(drift);
            }
        }
    }
}

/// <summary>The time windows and buckets <c>GET /api/agents/{name}/drift</c> answers for.</summary>
public static class DriftWindows
{
    /// <summary>The most buckets one report has.</summary>
    public const int MaxBuckets = 720;

    /// <summary>The window when none is asked for.</summary>
    public const string DefaultWindow = "24h";

    /// <summary>The longest window: drift older than this is never reported, and the retention sweep deletes it.</summary>
    public static TimeSpan Longest => Windows.Values.Max();

    /// <summary>The windows, by name.</summary>
    public static IReadOnlyDictionary<string, TimeSpan> Windows { get; } = new Dictionary<string, TimeSpan>(StringComparer.Ordinal)
    {
        ["1h"] = TimeSpan.FromHours(1),
        ["24h"] = TimeSpan.FromHours(24),
        ["7d"] = TimeSpan.FromDays(7),
        ["30d"] = TimeSpan.FromDays(30),
    };

    /// <summary>The bucket sizes, by name.</summary>
    public static IReadOnlyDictionary<string, TimeSpan> Buckets { get; } = new Dictionary<string, TimeSpan>(StringComparer.Ordinal)
    {
        ["1m"] = TimeSpan.FromMinutes(1),
        ["5m"] = TimeSpan.FromMinutes(5),
        ["15m"] = TimeSpan.FromMinutes(15),
        ["1h"] = TimeSpan.FromHours(1),
        ["6h"] = TimeSpan.FromHours(6),
        ["1d"] = TimeSpan.FromDays(1),
    };

    /// <summary>The bucket a window gets when none is asked for: 12 to 30 buckets.</summary>
    public static string DefaultBucket(string window) => window switch
    {
        "1h" => "5m",
        "24h" => "1h",
        "7d" => "6h",
        _ => "1d",
    };

    /// <summary>Why <paramref name="bucket"/> can not divide <paramref name="window"/>, or <c>null</c> when it can.</summary>
    public static string? Refusal(string window, string bucket)
    {
        var (w, b) = (Windows[window], Buckets[bucket]);
        if (b > w)
        {
            return $"A bucket of {bucket} is longer than the window of {window}.";
        }
        return w / b > MaxBuckets ? $"A window of {window} in buckets of {bucket} makes {w / b:0} buckets; at most {MaxBuckets} are answered." : null;
    }
}

/// <summary>The drift of one agent over a window: one line per planner origin.</summary>
public sealed record DriftView(string Agent, string Window, string Bucket, DateTimeOffset From, DateTimeOffset To, IReadOnlyList<string> Kinds, IReadOnlyList<DriftPlannerView> Planners);

/// <summary>
/// The drift of one planner origin: plan rounds, counts per kind (totals and per bucket), each kind's rate against the plan
/// rounds (<c>null</c> without any), and the newest examples.
/// </summary>
public sealed record DriftPlannerView(
    string PlannerKind,
    string Planner,
    string? PromptId,
    string? PromptVersion,
    string? AgentVersion,
    string? Model,
    int Plans,
    IReadOnlyDictionary<string, int> Totals,
    IReadOnlyDictionary<string, double?> Rates,
    IReadOnlyList<DriftBucketView> Buckets,
    IReadOnlyList<DriftExampleView> Examples);

/// <summary>One time bucket: from <see cref="Start"/> for the bucket's length, plan rounds and counts per kind.</summary>
public sealed record DriftBucketView(DateTimeOffset Start, int Plans, IReadOnlyDictionary<string, int> Counts);

/// <summary>One drift event as the report shows it.</summary>
public sealed record DriftExampleView(DateTimeOffset At, string Kind, string RunId, string CommandId, string? StepId, string? Tool, string? Reason);

/// <summary>Builds <see cref="DriftView"/>s from recorded events: pure, so a report is the same for the same events and time.</summary>
public static class DriftReport
{
    /// <summary>Examples per planner origin.</summary>
    public const int MaxExamples = 10;

    /// <summary>
    /// The report of <paramref name="agent"/> for the <paramref name="window"/> ending at <paramref name="now"/>, in buckets of
    /// <paramref name="bucket"/> aligned to whole multiples of the bucket since the Unix epoch (UTC), the first holding the
    /// window's start. Events outside the window are left out.
    /// </summary>
    public static DriftView Build(string agent, IEnumerable<DriftEvent> events, DateTimeOffset now, string window, string bucket)
    {
        ArgumentNullException.ThrowIfNull(events);
        var to = now.ToUniversalTime();
        var from = to - DriftWindows.Windows[window];
        var size = DriftWindows.Buckets[bucket];
        var first = Floor(from, size);
        var count = (int)((Floor(to, size) - first) / size) + 1;
        var inWindow = events.Where(e => e.At >= from && e.At <= to).ToList();
        var planners = inWindow
            .GroupBy(e => e.Origin, OriginKey.Instance)
            .Select(g =>
            {
                var plans = g.Count(e => e.Kind == DriftKinds.Plan);
                var drift = g.Where(e => e.Kind != DriftKinds.Plan).ToList();
                var totals = DriftKinds.All.ToDictionary(k => k, k => drift.Count(e => e.Kind == k), StringComparer.Ordinal);
                var rates = DriftKinds.All.ToDictionary(k => k, k => plans == 0 ? (double?)null : Math.Round((double)totals[k] / plans, 4), StringComparer.Ordinal);
                var buckets = Enumerable.Range(0, count).Select(i =>
                {
                    var start = first + size * i;
                    var within = g.Where(e => e.At >= start && e.At < start + size).ToList();
                    return new DriftBucketView(start, within.Count(e => e.Kind == DriftKinds.Plan),
                        DriftKinds.All.ToDictionary(k => k, k => within.Count(e => e.Kind == k), StringComparer.Ordinal));
                }).ToList();
                var examples = drift
                    .OrderByDescending(e => e.At).ThenBy(e => e.RunId, StringComparer.Ordinal).ThenBy(e => e.CommandId, StringComparer.Ordinal)
                    .Take(MaxExamples)
                    .Select(e => new DriftExampleView(e.At, e.Kind, e.RunId, e.CommandId, e.StepId, e.Tool, e.Reason))
                    .ToList();
                var o = g.Key;
                return new DriftPlannerView(o.PlannerKind, o.Planner, o.PromptId, o.PromptVersion, o.AgentVersion, o.Model, plans, totals, rates, buckets, examples);
            })
            .OrderBy(p => p.PlannerKind, StringComparer.Ordinal).ThenBy(p => p.Planner, StringComparer.Ordinal)
            .ThenBy(p => p.AgentVersion, StringComparer.Ordinal).ThenBy(p => p.Model, StringComparer.Ordinal)
            .ToList();
        return new DriftView(agent, window, bucket, from, to, DriftKinds.All, planners);
    }

    private static DateTimeOffset Floor(DateTimeOffset at, TimeSpan size) =>
        new(at.UtcTicks - (at.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) % size.Ticks, TimeSpan.Zero);

    // One line per planner, agent version and model; the prompt's id and version are part of the planner id.
    private sealed class OriginKey : IEqualityComparer<PlanOrigin>
    {
        public static readonly OriginKey Instance = new();

        public bool Equals(PlanOrigin? x, PlanOrigin? y) =>
            x is not null && y is not null && x.PlannerKind == y.PlannerKind && x.Planner == y.Planner && x.AgentVersion == y.AgentVersion && x.Model == y.Model;

        public int GetHashCode(PlanOrigin obj) => HashCode.Combine(obj.PlannerKind, obj.Planner, obj.AgentVersion, obj.Model);
    }
}
