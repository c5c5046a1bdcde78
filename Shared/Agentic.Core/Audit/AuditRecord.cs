using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Agentic.Core.Json;

namespace Agentic.Core.Audit;

/// <summary>The kinds of audit records. Run chains hold the first group; the control chain the second.</summary>
public static class AuditKinds
{
    // WARNING: kinds are part of stored, signed records; renaming one makes old records read as another kind.

    /// <summary>A run was accepted: principal, trigger, request digest.</summary>
    public const string RunAccepted = "run.accepted";
    /// <summary>What a signal source saw.</summary>
    public const string Observation = "observation";
    /// <summary>A planner's plan.</summary>
    public const string Plan = "plan";
    /// <summary>The gate's decision for a step.</summary>
    public const string Decision = "decision";
    /// <summary>A human's answer to an approval request.</summary>
    public const string Approval = "approval";
    /// <summary>A tool is about to be called (written before the call).</summary>
    public const string ActionStarted = "action.started";
    /// <summary>What the tool call returned or how it failed.</summary>
    public const string ActionOutcome = "action.outcome";
    /// <summary>A kill switch or quarantine stopped a step.</summary>
    public const string ControlApplied = "control.applied";
    /// <summary>A guard (steps, calls, budget, deadline, identical calls) ended the run.</summary>
    public const string GuardTripped = "guard.tripped";
    /// <summary>The run ended: status and reason.</summary>
    public const string RunOutcome = "run.outcome";
    /// <summary>A policy version was activated (control chain).</summary>
    public const string PolicyActivated = "policy.activated";
    /// <summary>The shadow policy was cleared (control chain).</summary>
    public const string PolicyShadowCleared = "policy.shadow-cleared";
    /// <summary>The enforced policy was rolled back to the previous one (control chain).</summary>
    public const string PolicyRolledBack = "policy.rolled-back";
    /// <summary>An agent version was stored: uploaded by an admin, or shipped by a host (control chain).</summary>
    public const string AgentStored = "agent.stored";
    /// <summary>An uploaded agent version became the one new runs of its agent use (control chain).</summary>
    public const string AgentActivated = "agent.activated";
    /// <summary>An uploaded agent was taken out of the offer (control chain).</summary>
    public const string AgentDeactivated = "agent.deactivated";
    /// <summary>A kill switch or quarantine was engaged (control chain).</summary>
    public const string ControlEngaged = "control.engaged";
    /// <summary>A kill switch or quarantine was released (control chain).</summary>
    public const string ControlReleased = "control.released";
    /// <summary>An admin pinned an MCP tool's announcement (control chain).</summary>
    public const string McpPinned = "mcp.pinned";
    /// <summary>An MCP server announced a tool differently from its pin (control chain).</summary>
    public const string McpChanged = "mcp.changed";
    /// <summary>An admin purged audit chains past their retention: which, with the length and head each had (control chain).</summary>
    public const string AuditPurged = "audit.purged";

    /// <summary>An approval wait, escalation or timeout was sent to a channel (or could not be).</summary>
    public const string Notification = "notification";
}

/// <summary>What a writer appends: an id unique in its chain, a kind, when, the data, and the records it derives from.</summary>
/// <param name="Id">Unique in the chain, chosen by the writer so a repeated write (a redelivered activity) finds its record.</param>
/// <param name="Kind">One of <see cref="AuditKinds"/>.</param>
/// <param name="At">When the fact happened.</param>
/// <param name="Data">The facts: digests, ids, effects; never a secret, never a sensitive field's value.</param>
/// <param name="DerivedFrom">Ids of the records (in the same chain) this one follows from: its lineage.</param>
public sealed record AuditEntry(string Id, string Kind, DateTimeOffset At, JsonElement Data, IReadOnlyList<string>? DerivedFrom = null);

/// <summary>
/// A record as stored: its position, its id, its content (the RFC 8785 canonical JSON of chain, seq, id, kind, at,
/// derivedFrom and data) and its chain hash, <c>SHA-256(previous chain hash || SHA-256(content))</c>.
/// </summary>
public sealed record StoredAuditRecord(long Seq, string Id, byte[] Content, string Hash)
{
    /// <summary>The content parsed (for reading; verification hashes <see cref="Content"/> as stored).</summary>
    public AuditRecordView Read()
    {
        using var document = JsonDocument.Parse(Content);
        var root = document.RootElement;
        return new AuditRecordView(
            root.GetProperty("chain").GetString()!,
            root.GetProperty("seq").GetInt64(),
            root.GetProperty("id").GetString()!,
            root.GetProperty("kind").GetString()!,
            DateTimeOffset.Parse(root.GetProperty("at").GetString()!, CultureInfo.InvariantCulture),
            [.. root.GetProperty("derivedFrom").EnumerateArray().Select(d => d.GetString()!)],
            root.GetProperty("data").Clone(),
            Hash);
    }
}

/// <summary>A record's fields, for the API and exports.</summary>
public sealed record AuditRecordView(string Chain, long Seq, string Id, string Kind, DateTimeOffset At, IReadOnlyList<string> DerivedFrom, JsonElement Data, string Hash);

/// <summary>The head of a chain: how many records it holds, the last one's hash, and the store's version of the head.</summary>
public sealed record AuditHead(long Length, string Hash, string Version);

/// <summary>The hashing of audit chains, in one place, for writers and verifiers alike.</summary>
public static class AuditChain
{
    /// <summary>The chain that holds control-plane events (policies, kill switches, keys, purges).</summary>
    public const string Control = "control";

    /// <summary>The "previous hash" of a chain's first record: 32 zero bytes.</summary>
    public static string Genesis { get; } = "sha256:" + new string('0', 64);

    /// <summary>The content of a record: RFC 8785 canonical JSON of its fields.</summary>
    public static byte[] Content(string chain, long seq, AuditEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var node = new JsonObject
        {
            ["v"] = 1,
            ["chain"] = chain,
            ["seq"] = seq,
            ["id"] = entry.Id,
            ["kind"] = entry.Kind,
            ["at"] = Time(entry.At),
            ["derivedFrom"] = Lineage(entry.DerivedFrom),
            ["data"] = DataNode(entry.Data),
        };
        return Jcs.Canonicalize(JsonSerializer.SerializeToElement(node));
    }

    /// <summary>The chain hash of a record whose content is <paramref name="content"/>, after <paramref name="previous"/>.</summary>
    public static string Link(string previous, ReadOnlySpan<byte> content)
    {
        Span<byte> buffer = stackalloc byte[64];
        ParseHash(previous, buffer[..32]);
        SHA256.HashData(content, buffer[32..]);
        return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(buffer));
    }

    /// <summary>Writes the 32 bytes of a <c>sha256:</c> hash.</summary>
    public static void ParseHash(string hash, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(hash);
        if (!TryParseHash(hash, destination))
        {
            throw new FormatException($"'{hash}' is not a sha256: hash of 64 hex digits.");
        }
    }

    /// <summary>Writes the 32 bytes of a <c>sha256:</c> hash; <c>false</c> when <paramref name="hash"/> is not one.</summary>
    public static bool TryParseHash(string hash, Span<byte> destination) =>
        hash is { Length: 71 } && hash.StartsWith("sha256:", StringComparison.Ordinal)
        && Convert.FromHexString(hash.AsSpan(7), destination, out _, out var written) == System.Buffers.OperationStatus.Done && written == 32;

    /// <summary>A time as records and checkpoints hold it: UTC, seven fractional digits, <c>Z</c>.</summary>
    public static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    private static JsonArray Lineage(IReadOnlyList<string>? derivedFrom) => new([.. (derivedFrom ?? []).Select(d => (JsonNode?)JsonValue.Create(d))]);

    private static JsonNode? DataNode(JsonElement data) => JsonNode.Parse(data.ValueKind == JsonValueKind.Undefined ? "{}" : data.GetRawText());

    /// <summary>
    /// What makes two entries the same fact: kind, lineage and data (not the time or position, which a repeated write
    /// can not reproduce).
    /// </summary>
    public static string Fingerprint(string kind, IReadOnlyList<string>? derivedFrom, JsonElement data)
    {
        var node = new JsonObject
        {
            ["kind"] = kind,
            ["derivedFrom"] = Lineage(derivedFrom),
            ["data"] = DataNode(data),
        };
        return AgenticJson.Digest(Jcs.Canonicalize(JsonSerializer.SerializeToElement(node)));
    }

    /// <summary>The fingerprint of a stored record's content.</summary>
    public static string Fingerprint(StoredAuditRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var view = record.Read();
        return Fingerprint(view.Kind, view.DerivedFrom, view.Data);
    }
}

/// <summary>A different record was offered for an id a chain holds already: the stored one stands and this is reported.</summary>
public sealed class AuditConflictException(string chain, string id, string stored, string offered)
    : Exception($"Audit chain '{chain}' already holds record '{id}' with other content ({AgenticJson.ShortDigest(stored)}, offered {AgenticJson.ShortDigest(offered)}): refused.")
{
    /// <summary>The chain.</summary>
    public string Chain { get; } = chain;

    /// <summary>The record id.</summary>
    public string Id { get; } = id;
}
