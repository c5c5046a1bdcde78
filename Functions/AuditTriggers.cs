using Agentic.Core.Audit;
using Agentic.Runtime.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace Agentic.Functions;

// The audit routes: each calls the local host's handler, so both hosts answer alike.
public sealed class AuditTriggers(AuditReader audit, AuditSigner signer, AuditRetention retention)
{
    [Function(nameof(AuditRecords))]
    public Task<IActionResult> AuditRecords(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "runs/{id}/audit")] HttpRequest req,
        string id,
        CancellationToken cancellationToken) =>
        SharedHttp.RunAsync(req, r => AuditApi.RecordsAsync(id, r, audit, cancellationToken));

    [Function(nameof(VerifyAudit))]
    public Task<IActionResult> VerifyAudit(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "runs/{id}/audit/verify")] HttpRequest req,
        string id,
        CancellationToken cancellationToken) =>
        SharedHttp.RunAsync(req, r => AuditApi.VerifyAsync(id, r, audit, signer, cancellationToken));

    [Function(nameof(AuditLineage))]
    public Task<IActionResult> AuditLineage(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "runs/{id}/lineage/{*recordId}")] HttpRequest req,
        string id,
        string recordId,
        CancellationToken cancellationToken) =>
        SharedHttp.RunAsync(req, r => AuditApi.LineageAsync(id, recordId, r, audit, cancellationToken));

    [Function(nameof(AuditKeys))]
    public Task<IActionResult> AuditKeys(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "audit/keys")] HttpRequest req,
        CancellationToken cancellationToken) =>
        SharedHttp.RunAsync(req, r => AuditApi.KeysAsync(r, signer, cancellationToken));

    [Function(nameof(PurgeAudit))]
    public Task<IActionResult> PurgeAudit(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "audit/purge")] HttpRequest req,
        CancellationToken cancellationToken) =>
        SharedHttp.RunAsync(req, r => AuditApi.PurgeAsync(r, retention, cancellationToken));
}
