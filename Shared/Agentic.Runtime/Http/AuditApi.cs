using Agentic.Core.Audit;
using Agentic.Core.Json;
using Agentic.Runtime.Http.Identity;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Agentic.Runtime.Http;

/// <summary>
/// The audit trail over HTTP, the same contract in both hosts: a run's records, their lineage, the run's verification
/// against the signed checkpoints, and the public keys that verify checkpoints. A run's audit is read by those who may
/// read the run (its requester, operators, admins); who requested it comes from the audit's own acceptance record, so
/// the audit stays readable after the run's engine state is purged.
/// </summary>
public static class AuditApi
{
    /// <summary>Maps <c>/api/runs/{id}/audit</c>, <c>/api/runs/{id}/audit/verify</c>, <c>/api/runs/{id}/lineage/{recordId}</c> and <c>/api/audit/keys</c>.</summary>
    public static IEndpointRouteBuilder MapAgenticAudit(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/runs/{id}/audit", RecordsAsync);
        app.MapGet("/api/runs/{id}/audit/verify", VerifyAsync);
        app.MapGet("/api/runs/{id}/lineage/{**recordId}", LineageAsync);
        app.MapGet("/api/audit/keys", KeysAsync);
        return app;
    }

    /// <summary><c>GET /api/runs/{id}/audit</c>: the run's audit records in chain order.</summary>
    public static async Task<IResult> RecordsAsync(string id, HttpRequest request, AuditReader audit, CancellationToken cancellationToken)
    {
        if (await RefusalAsync(id, request, audit, cancellationToken) is { } refused)
        {
            return refused;
        }
        var records = await audit.ReadAsync(id, cancellationToken);
        return TypedResults.Json(new { runId = id, count = records.Count, head = records.Count > 0 ? records[^1].Hash : null, records }, AgenticJson.Options);
    }

    /// <summary><c>GET /api/runs/{id}/audit/verify</c>: the run's chain recomputed and checked against the signed checkpoints.</summary>
    public static async Task<IResult> VerifyAsync(string id, HttpRequest request, AuditReader audit, AuditSigner signer, CancellationToken cancellationToken)
    {
        if (await RefusalAsync(id, request, audit, cancellationToken) is { } refused)
        {
            return refused;
        }
        ArgumentNullException.ThrowIfNull(signer);
        var report = await audit.VerifyAsync([id], await signer.TrustedKeysAsync(cancellationToken), cancellationToken);
        var chain = report.Chains.Single();
        return TypedResults.Json(new
        {
            runId = id,
            valid = report.Valid,
            covered = chain.Coverage is { ProofValid: true } && chain.Uncovered == 0,
            chain,
            checkpoints = report.Checkpoints,
        }, AgenticJson.Options);
    }

    /// <summary><c>GET /api/runs/{id}/lineage/{recordId}</c>: a record, what it derives from back to the run's acceptance, and what derives from it.</summary>
    public static async Task<IResult> LineageAsync(string id, string recordId, HttpRequest request, AuditReader audit, CancellationToken cancellationToken)
    {
        if (await RefusalAsync(id, request, audit, cancellationToken) is { } refused)
        {
            return refused;
        }
        return await audit.LineageAsync(id, recordId, cancellationToken) is { } lineage
            ? TypedResults.Json(lineage, AgenticJson.Options)
            : TypedResults.Problem($"Run '{id}' has no audit record '{recordId}'.", title: "Audit record not found", statusCode: StatusCodes.Status404NotFound);
    }

    /// <summary><c>GET /api/audit/keys</c>: the public keys that verify this deployment's checkpoints (current first, then retired).</summary>
    public static async Task<IResult> KeysAsync(HttpRequest request, AuditSigner signer, CancellationToken cancellationToken)
    {
        if (HttpCaller.Refusal(request, "reading the audit keys", [.. AgenticRoles.All]) is { } refused)
        {
            return refused;
        }
        ArgumentNullException.ThrowIfNull(signer);
        var keys = await signer.TrustedKeysAsync(cancellationToken);
        return TypedResults.Json(keys.Select((k, i) => new { keyId = k.KeyId, algorithm = "ES256", current = i == 0, publicKey = k.PublicKey, pem = k.Pem }), AgenticJson.Options);
    }

    // The run's requester (from its acceptance record), operators and admins; anyone else learns nothing of the run.
    private static async Task<IResult?> RefusalAsync(string id, HttpRequest request, AuditReader audit, CancellationToken cancellationToken)
    {
        if (HttpCaller.Refusal(request, "reading audit records", [.. AgenticRoles.All]) is { } refused)
        {
            return refused;
        }
        ArgumentNullException.ThrowIfNull(audit);
        // An id that can not be a run's names none: it never reaches storage.
        var accepted = Agentic.Core.Runs.RunIds.IsWellFormed(id) ? await audit.AcceptedAsync(id, cancellationToken) : null;
        var principal = accepted is { } record && record.Data.TryGetProperty("principal", out var p) ? p.GetString() : null;
        return principal is null || !Caller.Of(request.HttpContext).MayAccessRunOf(principal)
            ? TypedResults.Problem($"No run with id '{id}'.", title: "Run not found", statusCode: StatusCodes.Status404NotFound)
            : null;
    }
}
