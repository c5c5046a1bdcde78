using System.Globalization;
using System.Text.Json;
using Agentic.Core.Audit;
using Agentic.Core.Json;
using Agentic.Core.Runs;
using Agentic.Runtime.Http.Identity;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace Agentic.Runtime.Http;

/// <summary>
/// The audit trail over HTTP, the same contract in both hosts: a run's records, their lineage, the run's verification
/// against the signed checkpoints, and the public keys that verify checkpoints. A run's audit is read by those who may
/// read the run (its requester, operators, admins); who requested it comes from the audit's own acceptance record, so
/// the audit stays readable after the run's engine state is purged. Purging audit past its retention is for admins.
/// </summary>
public static class AuditApi
{
    private const int MaxBodyBytes = 16 * 1024;

    /// <summary>
    /// Maps <c>/api/runs/{id}/audit</c>, <c>/api/runs/{id}/audit/verify</c>, <c>/api/runs/{id}/lineage/{recordId}</c>,
    /// <c>/api/audit/keys</c> and <c>POST /api/audit/purge</c>.
    /// </summary>
    public static IEndpointRouteBuilder MapAgenticAudit(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/runs/{id}/audit", RecordsAsync).WithTags("Audit").Describe("A run's audit records", "The run's records in chain order: kind, time, data, lineage, chain hash.").Refusals(StatusCodes.Status404NotFound);
        app.MapGet("/api/runs/{id}/audit/verify", VerifyAsync).WithTags("Audit").Describe("Verify a run's audit chain", "The chain recomputed and checked against the signed checkpoints.").Refusals(StatusCodes.Status404NotFound);
        app.MapGet("/api/runs/{id}/lineage/{**recordId}", LineageAsync).WithTags("Audit").Describe("A record's lineage", "A record, what it derives from back to the run's acceptance, and what derives from it.").Refusals(StatusCodes.Status404NotFound);
        app.MapGet("/api/audit/keys", KeysAsync).WithTags("Audit").Describe("Audit keys", "The public keys that verify this deployment's checkpoints, current first.").Refusals();
        app.MapPost("/api/audit/purge", PurgeAsync).WithTags("Audit").Describe("Purge old audit chains", "{ before, reason }: purges chains past the audit retention, recorded and signed first (admins).")
            .Accepts<PurgeBody>("application/json").Refusals(StatusCodes.Status400BadRequest, StatusCodes.Status409Conflict);
        return app;
    }

    /// <summary><c>GET /api/runs/{id}/audit</c>: the run's audit records in chain order.</summary>
    public static async Task<IResult> RecordsAsync(string id, HttpRequest request, [FromServices] AuditReader audit, CancellationToken cancellationToken)
    {
        if (await RefusalAsync(id, request, audit, cancellationToken) is { } refused)
        {
            return refused;
        }
        var records = await audit.ReadAsync(id, cancellationToken);
        return TypedResults.Json(new { runId = id, count = records.Count, head = records.Count > 0 ? records[^1].Hash : null, records }, AgenticJson.Options);
    }

    /// <summary><c>GET /api/runs/{id}/audit/verify</c>: the run's chain recomputed and checked against the signed checkpoints.</summary>
    public static async Task<IResult> VerifyAsync(string id, HttpRequest request, [FromServices] AuditReader audit, [FromServices] AuditSigner signer, CancellationToken cancellationToken)
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
    public static async Task<IResult> LineageAsync(string id, string recordId, HttpRequest request, [FromServices] AuditReader audit, CancellationToken cancellationToken)
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
    public static async Task<IResult> KeysAsync(HttpRequest request, [FromServices] AuditSigner signer, CancellationToken cancellationToken)
    {
        if (HttpCaller.Refusal(request, "reading the audit keys", [.. AgenticRoles.All]) is { } refused)
        {
            return refused;
        }
        ArgumentNullException.ThrowIfNull(signer);
        var keys = await signer.TrustedKeysAsync(cancellationToken);
        return TypedResults.Json(keys.Select((k, i) => new { keyId = k.KeyId, algorithm = "ES256", current = i == 0, publicKey = k.PublicKey, pem = k.Pem }), AgenticJson.Options);
    }

    /// <summary>
    /// <c>POST /api/audit/purge</c> <c>{"before": "2019-01-01T00:00:00Z", "reason": "..."}</c>, admins only: purges the run
    /// chains whose last record is older than <c>before</c>, which must be beyond the audit retention. The purge is
    /// recorded on the control chain and signed before anything is deleted; 409 when the checkpoints or the control chain
    /// do not verify.
    /// </summary>
    public static async Task<IResult> PurgeAsync(HttpRequest request, [FromServices] AuditRetention retention, CancellationToken cancellationToken)
    {
        if (HttpCaller.Refusal(request, "purging audit", AgenticRoles.Admin) is { } refused)
        {
            return refused;
        }
        ArgumentNullException.ThrowIfNull(retention);
        DateTimeOffset before;
        string reason;
        try
        {
            (before, reason) = ParsePurge(await HttpCaller.ReadBodyAsync(request, MaxBodyBytes, cancellationToken), retention);
        }
        catch (InputException ex)
        {
            return HttpCaller.Problem(ex.Title, ex.Message, ex.Errors);
        }
        try
        {
            var report = await retention.PurgeAsync(before, HttpCaller.Principal(request), reason, cancellationToken);
            return TypedResults.Json(report, AgenticJson.Options);
        }
        catch (AuditPurgeRefusedException ex)
        {
            return TypedResults.Problem(ex.Message, title: "Audit purge refused", statusCode: StatusCodes.Status409Conflict);
        }
    }

    private static (DateTimeOffset Before, string Reason) ParsePurge(byte[]? body, AuditRetention retention)
    {
        if (body is null)
        {
            throw HttpCaller.TooLarge(MaxBodyBytes);
        }
        if (body.Length == 0)
        {
            throw new InputException("Request body required", [new("$", "The body is empty; send a JSON object.")]);
        }
        PurgeBody wire;
        try
        {
            wire = JsonSerializer.Deserialize<PurgeBody>(body, AgenticJson.Strict)
                ?? throw new InputException("Request body required", [new("$", "The body is JSON null; send a JSON object.")]);
        }
        catch (JsonException ex)
        {
            throw new InputException("Malformed JSON", [new(string.IsNullOrEmpty(ex.Path) ? "$" : ex.Path, ex.Message.Split(". ")[0] + ".")]);
        }
        var errors = new List<InputError>();
        DateTimeOffset before = default;
        if (string.IsNullOrWhiteSpace(wire.Before))
        {
            errors.Add(new("before", "Required: a time (ISO 8601, e.g. 2019-01-01T00:00:00Z); chains whose last record is older are purged."));
        }
        else if (!DateTimeOffset.TryParse(wire.Before, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out before))
        {
            errors.Add(new("before", $"'{wire.Before}' is not a time; use ISO 8601, e.g. 2019-01-01T00:00:00Z."));
        }
        else if (before > retention.Latest)
        {
            errors.Add(new("before", $"Audit is kept {retention.Days} days (Agentic:Retention:AuditDays): 'before' may be at most {AuditChain.Time(retention.Latest)}."));
        }
        if (string.IsNullOrWhiteSpace(wire.Reason))
        {
            errors.Add(new("reason", "Required: why; it is recorded with the purge on the control chain."));
        }
        else if (wire.Reason.Length > AuditRetention.MaxReasonLength)
        {
            errors.Add(new("reason", $"At most {AuditRetention.MaxReasonLength} characters."));
        }
        if (errors.Count > 0)
        {
            throw new InputException("Invalid audit purge", errors);
        }
        return (before, wire.Reason!.Trim());
    }

    /// <summary>The body of <c>POST /api/audit/purge</c>.</summary>
    public sealed record PurgeBody(string? Before = null, string? Reason = null);

    // The run's requester (from its acceptance record), operators and admins; anyone else learns nothing of the run.
    private static async Task<IResult?> RefusalAsync(string id, HttpRequest request, AuditReader audit, CancellationToken cancellationToken)
    {
        if (HttpCaller.Refusal(request, "reading audit records", [.. AgenticRoles.All]) is { } refused)
        {
            return refused;
        }
        ArgumentNullException.ThrowIfNull(audit);
        // An id that can not be a run's names none: it never reaches storage.
        var accepted = RunIds.IsWellFormed(id) ? await audit.AcceptedAsync(id, cancellationToken) : null;
        var principal = accepted is { } record && record.Data.TryGetProperty("principal", out var p) ? p.GetString() : null;
        return principal is null || !Caller.Of(request.HttpContext).MayAccessRunOf(principal)
            ? TypedResults.Problem($"No run with id '{id}'.", title: "Run not found", statusCode: StatusCodes.Status404NotFound)
            : null;
    }
}
