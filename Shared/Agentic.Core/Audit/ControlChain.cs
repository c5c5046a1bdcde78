using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Agentic.Core.Agents.Lifecycle;
using Agentic.Core.Governance;
using Agentic.Core.Policy.Language;
using Agentic.Core.Policy.Lifecycle;

namespace Agentic.Core.Audit;

/// <summary>
/// Kill switches and quarantines with every change appended to the control chain (<see cref="AuditChain.Control"/>):
/// who engaged or released what, and why. The change is made first and recorded after, so the chain never holds a change
/// that did not happen; a change whose record could not be written fails the call, and the caller tries again.
/// </summary>
public sealed class AuditedControlStore(IControlStore inner, AuditLog audit, TimeProvider clock) : IControlStore
{
    /// <inheritdoc />
    public async Task<ControlState> EngageAsync(ControlScope scope, string? target, ControlKind kind, string reason, string by, CancellationToken cancellationToken)
    {
        var control = await inner.EngageAsync(scope, target, kind, reason, by, cancellationToken);
        await ControlChain.AppendAsync(audit, AuditKinds.ControlEngaged, control.Rule, clock.GetUtcNow(), new JsonObject
        {
            ["rule"] = control.Rule, ["scope"] = Controls.Name(scope), ["target"] = target, ["kind"] = Controls.Name(kind), ["reason"] = reason, ["by"] = by,
        }, cancellationToken);
        return control;
    }

    /// <inheritdoc />
    public async Task<bool> ReleaseAsync(ControlScope scope, string? target, ControlKind kind, string reason, string by, CancellationToken cancellationToken)
    {
        var released = await inner.ReleaseAsync(scope, target, kind, reason, by, cancellationToken);
        if (released)
        {
            var rule = Controls.Rule(scope, target, kind);
            await ControlChain.AppendAsync(audit, AuditKinds.ControlReleased, rule, clock.GetUtcNow(), new JsonObject
            {
                ["rule"] = rule, ["scope"] = Controls.Name(scope), ["target"] = target, ["kind"] = Controls.Name(kind), ["reason"] = reason, ["by"] = by,
            }, cancellationToken);
        }
        return released;
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<ControlState>> GetActiveAsync(string agent, string tool, CancellationToken cancellationToken) => inner.GetActiveAsync(agent, tool, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<ControlState>> ListActiveAsync(CancellationToken cancellationToken) => inner.ListActiveAsync(cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<ControlEvent>> HistoryAsync(int max, CancellationToken cancellationToken) => inner.HistoryAsync(max, cancellationToken);
}

/// <summary>
/// The policy lifecycle with every activation, shadow clear and rollback appended to the control chain: which policy
/// (id, version, content hash) became enforced or shadow, by whom, why.
/// </summary>
public sealed class AuditedPolicyStore(IPolicyStore inner, AuditLog audit, TimeProvider clock) : IPolicyStore
{
    /// <inheritdoc />
    public Task<PolicySaveResult> SaveAsync(string id, string version, string yaml, string savedBy, CancellationToken cancellationToken) =>
        inner.SaveAsync(id, version, yaml, savedBy, cancellationToken);

    /// <inheritdoc />
    public Task<StoredPolicy?> GetAsync(string id, string version, CancellationToken cancellationToken) => inner.GetAsync(id, version, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<PolicyVersionInfo>> ListAsync(string? id, CancellationToken cancellationToken) => inner.ListAsync(id, cancellationToken);

    /// <inheritdoc />
    public Task<ActivePolicySet> GetActiveAsync(CancellationToken cancellationToken) => inner.GetActiveAsync(cancellationToken);

    /// <inheritdoc />
    public async Task<ActivePolicySet> ActivateAsync(string id, string version, PolicyMode mode, string by, string reason, CancellationToken cancellationToken)
    {
        var active = await inner.ActivateAsync(id, version, mode, by, reason, cancellationToken);
        await RecordAsync(AuditKinds.PolicyActivated, active, by, reason, new JsonObject { ["id"] = id, ["version"] = version, ["mode"] = JsonSerializer.SerializeToNode(mode, Json.AgenticJson.Options) }, cancellationToken);
        return active;
    }

    /// <inheritdoc />
    public async Task<ActivePolicySet?> ClearShadowAsync(string by, string reason, CancellationToken cancellationToken)
    {
        var active = await inner.ClearShadowAsync(by, reason, cancellationToken);
        if (active is not null)
        {
            await RecordAsync(AuditKinds.PolicyShadowCleared, active, by, reason, [], cancellationToken);
        }
        return active;
    }

    /// <inheritdoc />
    public async Task<ActivePolicySet> RollbackAsync(string by, string reason, CancellationToken cancellationToken)
    {
        var active = await inner.RollbackAsync(by, reason, cancellationToken);
        await RecordAsync(AuditKinds.PolicyRolledBack, active, by, reason, [], cancellationToken);
        return active;
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<PolicyEvent>> HistoryAsync(int max, CancellationToken cancellationToken) => inner.HistoryAsync(max, cancellationToken);

    private Task<AuditAppended> RecordAsync(string kind, ActivePolicySet active, string by, string reason, JsonObject data, CancellationToken cancellationToken)
    {
        data["by"] = by;
        data["reason"] = reason;
        data["sequence"] = active.Sequence;
        data["enforced"] = Slot(active.Enforced);
        data["shadow"] = Slot(active.Shadow);
        return ControlChain.AppendAsync(audit, kind, "policy", clock.GetUtcNow(), data, cancellationToken);
    }

    private static JsonObject? Slot(PolicySlot? slot) =>
        slot is null ? null : new JsonObject { ["id"] = slot.Id, ["version"] = slot.Version, ["contentHash"] = slot.ContentHash };
}

/// <summary>
/// The agent lifecycle with every stored version, activation and deactivation appended to the control chain: which
/// agent version (name, version, content hash) was stored or put in or out of the offer, by whom, why.
/// </summary>
public sealed class AuditedAgentStore(IAgentStore inner, AuditLog audit, TimeProvider clock) : IAgentStore
{
    /// <inheritdoc />
    public async Task<AgentSaveResult> SaveAsync(string name, string version, string yaml, string savedBy, CancellationToken cancellationToken)
    {
        var saved = await inner.SaveAsync(name, version, yaml, savedBy, cancellationToken);
        if (saved.Created)
        {
            await ControlChain.AppendAsync(audit, AuditKinds.AgentStored, "agent:" + name, clock.GetUtcNow(), new JsonObject
            {
                ["name"] = name, ["version"] = version, ["contentHash"] = saved.Version.ContentHash, ["by"] = savedBy,
            }, cancellationToken);
        }
        return saved;
    }

    /// <inheritdoc />
    public Task<StoredAgent?> GetAsync(string name, string version, CancellationToken cancellationToken) => inner.GetAsync(name, version, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<AgentVersionInfo>> ListAsync(string? name, CancellationToken cancellationToken) => inner.ListAsync(name, cancellationToken);

    /// <inheritdoc />
    public Task<ActiveAgentSet> GetActiveAsync(CancellationToken cancellationToken) => inner.GetActiveAsync(cancellationToken);

    /// <inheritdoc />
    public async Task<ActiveAgentSet> ActivateAsync(string name, string version, string by, string reason, CancellationToken cancellationToken)
    {
        var before = await inner.GetActiveAsync(cancellationToken);
        var active = await inner.ActivateAsync(name, version, by, reason, cancellationToken);
        if (active.Sequence != before.Sequence)
        {
            await RecordAsync(AuditKinds.AgentActivated, active, name, version, active.Find(name)?.ContentHash, by, reason, cancellationToken);
        }
        return active;
    }

    /// <inheritdoc />
    public async Task<ActiveAgentSet?> DeactivateAsync(string name, string by, string reason, CancellationToken cancellationToken)
    {
        var before = (await inner.GetActiveAsync(cancellationToken)).Find(name);
        var active = await inner.DeactivateAsync(name, by, reason, cancellationToken);
        if (active is not null)
        {
            await RecordAsync(AuditKinds.AgentDeactivated, active, name, before?.Version, before?.ContentHash, by, reason, cancellationToken);
        }
        return active;
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<AgentEvent>> HistoryAsync(string? name, int max, CancellationToken cancellationToken) => inner.HistoryAsync(name, max, cancellationToken);

    private Task<AuditAppended> RecordAsync(string kind, ActiveAgentSet active, string name, string? version, string? hash, string by, string reason, CancellationToken cancellationToken) =>
        ControlChain.AppendAsync(audit, kind, "agent:" + name, clock.GetUtcNow(), new JsonObject
        {
            ["name"] = name, ["version"] = version, ["contentHash"] = hash, ["by"] = by, ["reason"] = reason, ["sequence"] = active.Sequence,
        }, cancellationToken);
}

internal static class ControlChain
{
    // Each change is its own fact: the id names what changed and when, so two changes never share one.
    public static Task<AuditAppended> AppendAsync(AuditLog audit, string kind, string what, DateTimeOffset at, JsonObject data, CancellationToken cancellationToken)
    {
        var id = string.Create(CultureInfo.InvariantCulture, $"{kind}/{what}/{at.UtcTicks}");
        return audit.AppendAsync(AuditChain.Control, new AuditEntry(id, kind, at, AuditEntries.Data(data)), AuditConflict.Amend, cancellationToken);
    }
}
