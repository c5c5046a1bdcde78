using Agentic.Core.Audit;
using Agentic.Core.Secrets;
using Microsoft.Extensions.Logging.Abstractions;

namespace Agentic.Testing;

/// <summary>
/// The product's audit trail on in-memory stores, with a fresh signing key: the real <see cref="AuditLog"/>,
/// <see cref="AuditCheckpointer"/> and <see cref="AuditVerifier"/>, for tests that need no storage.
/// </summary>
public sealed class TestAudit : IDisposable
{
    /// <summary>A new audit trail with its own key.</summary>
    public TestAudit()
    {
        SigningKeyPem = AuditSigner.NewKeyPem();
        Log = new AuditLog(Store, Heads);
        Signer = new AuditSigner(new OneSecret(Options.SigningKeySecret, SigningKeyPem), Options);
        Checkpointer = new AuditCheckpointer(Checkpoints, Heads, Signer, TimeProvider.System, NullLogger<AuditCheckpointer>.Instance);
    }

    /// <summary>An appender over a fresh in-memory store, for tests that only need activities to be able to write.</summary>
    public static AuditLog InMemoryLog() => new(new InMemoryAuditStore(), new AuditHeads());

    /// <summary>The audit settings (defaults).</summary>
    public AuditOptions Options { get; } = new();

    /// <summary>The chains.</summary>
    public InMemoryAuditStore Store { get; } = new();

    /// <summary>The checkpoints.</summary>
    public InMemoryCheckpointStore Checkpoints { get; } = new();

    /// <summary>Heads not yet checkpointed.</summary>
    public AuditHeads Heads { get; } = new();

    /// <summary>The appender.</summary>
    public AuditLog Log { get; }

    /// <summary>The signer, over <see cref="SigningKeyPem"/>.</summary>
    public AuditSigner Signer { get; }

    /// <summary>The checkpointer.</summary>
    public AuditCheckpointer Checkpointer { get; }

    /// <summary>The private signing key (PKCS#8 PEM).</summary>
    public string SigningKeyPem { get; }

    /// <summary>Audit retention over this trail, with <paramref name="clock"/> as now.</summary>
    public AuditRetention Retention(TimeProvider clock, Agentic.Core.Runs.RetentionOptions? options = null) =>
        new(Log, Checkpointer, Signer, Checkpoints, Heads, Microsoft.Extensions.Options.Options.Create(options ?? new Agentic.Core.Runs.RetentionOptions()), clock, NullLogger<AuditRetention>.Instance);

    /// <summary>A verifier that trusts this trail's key only.</summary>
    public async Task<AuditVerifier> VerifierAsync(CancellationToken cancellationToken) =>
        new(Store, Checkpoints, [await Signer.PublicKeyAsync(cancellationToken)]);

    /// <inheritdoc />
    public void Dispose()
    {
        Checkpointer.Dispose();
        Signer.Dispose();
    }

}

/// <summary>
/// Decorates a decision store the way the product's writers use it: each decision and approval it stores is also
/// appended to the run's audit chain (the gate and the run client do both), so an act activity finds them there.
/// </summary>
public sealed class AuditingDecisionStore(Agentic.Core.Governance.IDecisionStore inner, AuditLog audit) : Agentic.Core.Governance.IDecisionStore
{
    /// <summary>The audit trail it appends to.</summary>
    public AuditLog Audit => audit;

    /// <inheritdoc />
    public async Task<Agentic.Core.Agents.GateDecision> RecordDecisionAsync(Agentic.Core.Agents.GateDecision decision, CancellationToken cancellationToken)
    {
        var stored = await inner.RecordDecisionAsync(decision, cancellationToken);
        await audit.AppendAsync(stored.RunId, AuditEntries.Decided(stored, compensation: false), AuditConflict.Refuse, cancellationToken);
        return stored;
    }

    /// <inheritdoc />
    public Task<Agentic.Core.Agents.GateDecision?> GetDecisionAsync(string runId, string stepId, CancellationToken cancellationToken) =>
        inner.GetDecisionAsync(runId, stepId, cancellationToken);

    /// <inheritdoc />
    public async Task<Agentic.Core.Agents.ApprovalDecision> RecordApprovalAsync(string runId, string stepId, Agentic.Core.Agents.ApprovalDecision approval, CancellationToken cancellationToken)
    {
        var stored = await inner.RecordApprovalAsync(runId, stepId, approval, cancellationToken);
        await audit.AppendAsync(runId, AuditEntries.Approved(stepId, stored), AuditConflict.Refuse, cancellationToken);
        return stored;
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<Agentic.Core.Agents.ApprovalDecision>> GetApprovalsAsync(string runId, string stepId, CancellationToken cancellationToken) =>
        inner.GetApprovalsAsync(runId, stepId, cancellationToken);

    /// <inheritdoc />
    public Task<bool> RecordSubmissionAsync(string runId, string principal, DateTimeOffset at, CancellationToken cancellationToken) =>
        inner.RecordSubmissionAsync(runId, principal, at, cancellationToken);
}
