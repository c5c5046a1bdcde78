using System.Collections.Concurrent;
using System.Text.Json;
using Agentic.Core.Activities;
using Agentic.Core.Agents;
using Agentic.Core.Json;

namespace Agentic.Durable.Tests.Support;

/// <summary>One attempt of an activity as a fake saw it: the input it was given, and what it answered or threw.</summary>
internal sealed record ActivityCall(string Activity, string CommandId, int Attempt, JsonElement Input, JsonElement? Output, string? Error)
{
    public T InputAs<T>() => AgenticJson.FromElement<T>(Input);
}

/// <summary>
/// What the outside world answers one run: the observation, the planner's plan, the policy's decisions and the tools'
/// results (or failures). Everything else (the decider, the orchestrator, the engine) is real. Each fake also records
/// every attempt it served, so tests can say which activities ran, how often and with what.
/// </summary>
internal sealed class RunScript
{
    private readonly ConcurrentQueue<ActivityCall> _calls = new();
    private readonly ConcurrentDictionary<string, int> _attempts = new(StringComparer.Ordinal);

    /// <summary>The target's health for the first probe (<c>observe</c>) and the post-condition probe (<c>verify</c>).</summary>
    public Func<PerceiveInput, Observation> Perceive { get; init; } = input => Answers.Observation(healthy: input.Purpose == "verify");

    /// <summary>The planner: a fixed plan, or a shipped agent's real playbook (<see cref="Answers.Playbook"/>).</summary>
    public Func<PlanInput, Plan> Plan { get; init; } = Answers.Playbook;

    /// <summary>The policy's decision for a step; <see cref="Answers.Permit"/> unless the scenario says otherwise.</summary>
    public Func<GateInput, GateDecision> Gate { get; init; } = Answers.Permit;

    /// <summary>The tool: a result, or an exception (the attempt number starts at 1).</summary>
    public Func<ActInput, int, ActResult> Act { get; init; } = (input, _) => Answers.Done(input);

    /// <summary>When set, every activity answers what another run recorded for the same command (a replay).</summary>
    public IReadOnlyDictionary<string, JsonElement>? Recorded { get; init; }

    /// <summary>Every attempt in the order the fakes served them.</summary>
    public IReadOnlyList<ActivityCall> Calls => [.. _calls];

    public IReadOnlyList<ActivityCall> CallsOf(string activity) => [.. _calls.Where(c => c.Activity == activity)];

    /// <summary>The step ids the act fake was called for, one entry per attempt.</summary>
    public IReadOnlyList<string> ActedSteps => [.. CallsOf(AgentActivities.Act).Select(c => c.InputAs<ActInput>().StepId)];

    /// <summary>The step ids the gate fake was asked about, in order.</summary>
    public IReadOnlyList<string> GatedSteps => [.. CallsOf(AgentActivities.Gate).Select(c => c.InputAs<GateInput>().StepId)];

    public JsonElement Answer(string activity, JsonElement input, ActivityContext context)
    {
        var attempt = _attempts.AddOrUpdate(activity + "|" + context.CommandId, 1, (_, n) => n + 1);
        try
        {
            var output = Recorded is { } recorded
                ? recorded[context.CommandId]
                : activity switch
                {
                    AgentActivities.Perceive => AgenticJson.ToElement(Perceive(AgenticJson.FromElement<PerceiveInput>(input))),
                    AgentActivities.Plan => AgenticJson.ToElement(Plan(AgenticJson.FromElement<PlanInput>(input))),
                    AgentActivities.Gate => AgenticJson.ToElement(Gate(Checked(AgenticJson.FromElement<GateInput>(input)))),
                    AgentActivities.Act => AgenticJson.ToElement(Act(Checked(AgenticJson.FromElement<ActInput>(input)), attempt)),
                    _ => throw new NonRetryableException($"No fake for activity '{activity}'."),
                };
            _calls.Enqueue(new(activity, context.CommandId, attempt, input.Clone(), output, null));
            return output;
        }
        catch (Exception ex)
        {
            _calls.Enqueue(new(activity, context.CommandId, attempt, input.Clone(), null, $"{ex.GetType().FullName}: {ex.Message}"));
            throw;
        }
    }

    /// <summary>What each command answered, for a second run that replays this one (<see cref="Recorded"/>).</summary>
    public IReadOnlyDictionary<string, JsonElement> Outputs() =>
        _calls.Where(c => c.Output is not null).GroupBy(c => c.CommandId).ToDictionary(g => g.Key, g => g.Last().Output!.Value, StringComparer.Ordinal);

    // The decider must hand the gate the digest of the step's exact arguments; a fake that trusted it blindly could not
    // notice a decider that did not.
    private static GateInput Checked(GateInput input) =>
        AgenticJson.Digest(input.Arguments) == input.ArgsDigest
            ? input
            : throw new NonRetryableException($"Gate fake: step {input.StepId} came with digest {input.ArgsDigest}, its arguments digest to {AgenticJson.Digest(input.Arguments)}.");

    // What the real act activity proves from storage, checked on what the orchestrator delivered: a decision for this
    // very step and argument digest, and for a decision that needs approval, an approval for that digest.
    private static ActInput Checked(ActInput input)
    {
        var digest = AgenticJson.Digest(input.Arguments);
        if (input.ArgsDigest != digest || input.Decision.StepId != input.StepId || input.Decision.ArgsDigest != digest)
        {
            throw new NonRetryableException($"Act fake: step {input.StepId} came with a decision for {input.Decision.StepId}/{input.Decision.ArgsDigest}, arguments {digest}.");
        }
        var approved = input.Approval is { Approved: true } approval && approval.ArgsDigest == digest;
        if (input.Decision.Effect == GateEffect.Forbid || (input.Decision.Effect == GateEffect.RequireApproval && !approved))
        {
            throw new NonRetryableException($"Act fake: step {input.StepId} came without the approval its decision ({input.Decision.Effect}) needs.");
        }
        return input;
    }
}

/// <summary>Fakes for the four activities, as <see cref="IActivity"/>s behind the product's own adapter; each serves the run's script.</summary>
internal sealed class ScriptedActivity(string name, Func<string, RunScript> scripts) : IActivity
{
    public string Name { get; } = name;

    public Task<JsonElement> RunAsync(JsonElement input, ActivityContext context, CancellationToken cancellationToken) =>
        Task.FromResult(scripts(context.RunId).Answer(Name, input, context));
}
