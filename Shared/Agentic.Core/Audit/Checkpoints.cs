using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Agentic.Core.Json;
using Agentic.Core.Secrets;
using Microsoft.Extensions.Logging;

namespace Agentic.Core.Audit;

/// <summary>One chain's head as a checkpoint signs it.</summary>
public sealed record CheckpointLeaf(string Chain, long Length, string Head);

/// <summary>
/// A signed checkpoint: the heads of the chains that changed since the previous one, folded into a Merkle root, signed
/// with ECDSA P-256 over the canonical JSON of every other field, and linked to the previous checkpoint by its hash.
/// Each checkpoint carries the public key that signed it; a verifier trusts it only if that key is one it was given.
/// </summary>
public sealed record AuditCheckpoint(long Number, string Prev, DateTimeOffset At, string KeyId, string PublicKey, IReadOnlyList<CheckpointLeaf> Leaves, string Root, string Signature)
{
    /// <summary>The canonical JSON of the fields the signature covers (all but the signature).</summary>
    public byte[] SignedBytes() => Jcs.Canonicalize(JsonSerializer.SerializeToElement(Node(withSignature: false)));

    /// <summary>The checkpoint as stored: one line of canonical JSON.</summary>
    public byte[] Line() => Jcs.Canonicalize(JsonSerializer.SerializeToElement(Node(withSignature: true)));

    /// <summary>Reads a stored line.</summary>
    public static AuditCheckpoint Parse(ReadOnlySpan<byte> line)
    {
        using var document = JsonDocument.Parse(line.ToArray());
        var root = document.RootElement;
        return new AuditCheckpoint(
            root.GetProperty("number").GetInt64(),
            root.GetProperty("prev").GetString()!,
            DateTimeOffset.Parse(root.GetProperty("at").GetString()!, CultureInfo.InvariantCulture),
            root.GetProperty("keyId").GetString()!,
            root.GetProperty("publicKey").GetString()!,
            [.. root.GetProperty("leaves").EnumerateArray().Select(l => new CheckpointLeaf(l.GetProperty("chain").GetString()!, l.GetProperty("length").GetInt64(), l.GetProperty("head").GetString()!))],
            root.GetProperty("root").GetString()!,
            root.GetProperty("signature").GetString()!);
    }

    private JsonObject Node(bool withSignature)
    {
        var node = new JsonObject
        {
            ["v"] = 1,
            ["number"] = Number,
            ["prev"] = Prev,
            ["at"] = AuditChain.Time(At),
            ["keyId"] = KeyId,
            ["publicKey"] = PublicKey,
            ["leaves"] = new JsonArray([.. Leaves.Select(l => (JsonNode?)new JsonObject { ["chain"] = l.Chain, ["length"] = l.Length, ["head"] = l.Head })]),
            ["root"] = Root,
        };
        if (withSignature)
        {
            node["signature"] = Signature;
        }
        return node;
    }
}

/// <summary>The last checkpoint stored: its number, the hash of its line, and the store's version of the tail.</summary>
public sealed record CheckpointTail(long Number, string Hash, string Version);

/// <summary>A stored checkpoint line and where it is.</summary>
public sealed record StoredCheckpoint(string Location, byte[] Line);

/// <summary>
/// Where checkpoints are appended: an append blob in a container under a time-based immutability (WORM) policy in
/// Azure; memory in tests. Appends are conditional on the tail, so checkpoints from several hosts form one sequence.
/// </summary>
public interface ICheckpointStore
{
    /// <summary>The last checkpoint, or <c>null</c> when there is none.</summary>
    Task<CheckpointTail?> GetTailAsync(CancellationToken cancellationToken);

    /// <summary>Appends <paramref name="line"/> if the tail is still <paramref name="expected"/>; the new tail, or <c>null</c> when it moved.</summary>
    Task<CheckpointTail?> TryAppendAsync(CheckpointTail? expected, long number, byte[] line, CancellationToken cancellationToken);

    /// <summary>Every stored line, in order.</summary>
    IAsyncEnumerable<StoredCheckpoint> ReadAllAsync(CancellationToken cancellationToken);
}

/// <summary>An <see cref="ICheckpointStore"/> in memory, for tests and benchmarks.</summary>
public sealed class InMemoryCheckpointStore : ICheckpointStore
{
    private readonly List<byte[]> _lines = [];
    private CheckpointTail? _tail;

    /// <inheritdoc />
    public Task<CheckpointTail?> GetTailAsync(CancellationToken cancellationToken)
    {
        lock (_lines)
        {
            return Task.FromResult<CheckpointTail?>(_tail);
        }
    }

    /// <inheritdoc />
    public Task<CheckpointTail?> TryAppendAsync(CheckpointTail? expected, long number, byte[] line, CancellationToken cancellationToken)
    {
        lock (_lines)
        {
            if (_tail?.Version != expected?.Version)
            {
                return Task.FromResult<CheckpointTail?>(null);
            }
            _lines.Add(line);
            _tail = new CheckpointTail(number, AgenticJson.Digest(line), _lines.Count.ToString(CultureInfo.InvariantCulture));
            return Task.FromResult<CheckpointTail?>(_tail);
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<StoredCheckpoint> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Yield();
        byte[][] lines;
        lock (_lines)
        {
            lines = [.. _lines];
        }
        for (var i = 0; i < lines.Length; i++)
        {
            yield return new StoredCheckpoint($"memory:{i + 1}", lines[i]);
        }
    }

    /// <summary>Replaces a stored line as it is (for tamper tests).</summary>
    public void Overwrite(int index, byte[] line)
    {
        lock (_lines)
        {
            _lines[index] = line;
        }
    }
}

/// <summary>A public key that verifies checkpoints: its id and its SubjectPublicKeyInfo (DER, base64).</summary>
public sealed record AuditPublicKey(string KeyId, string PublicKey)
{
    /// <summary>The id of a key: <c>p256:</c> and the first 16 hex digits of SHA-256 over its SubjectPublicKeyInfo.</summary>
    public static string IdOf(ReadOnlySpan<byte> spki) => "p256:" + Convert.ToHexStringLower(SHA256.HashData(spki))[..16];

    /// <summary>The key as PEM.</summary>
    public string Pem => PemEncoding.WriteString("PUBLIC KEY", Convert.FromBase64String(PublicKey));

    /// <summary>Reads every PEM public key (or private key, whose public half is taken) in <paramref name="pem"/>.</summary>
    public static IReadOnlyList<AuditPublicKey> ParseAll(string pem)
    {
        ArgumentNullException.ThrowIfNull(pem);
        var keys = new List<AuditPublicKey>();
        var rest = pem.AsSpan();
        while (PemEncoding.TryFind(rest, out var fields))
        {
            var label = rest[fields.Label].ToString();
            var block = rest[fields.Location].ToString();
            using var key = ECDsa.Create();
            key.ImportFromPem(block);
            if (key.KeySize != 256)
            {
                throw new FormatException($"A {label} of {key.KeySize} bits is not a P-256 key.");
            }
            var spki = key.ExportSubjectPublicKeyInfo();
            keys.Add(new AuditPublicKey(IdOf(spki), Convert.ToBase64String(spki)));
            rest = rest[fields.Location.End..];
        }
        return keys;
    }

    /// <summary>Whether <paramref name="signature"/> (IEEE P1363, base64) signs <paramref name="data"/> under this key.</summary>
    public bool Verifies(ReadOnlySpan<byte> data, string signature)
    {
        using var key = ECDsa.Create();
        key.ImportSubjectPublicKeyInfo(Convert.FromBase64String(PublicKey), out _);
        Span<byte> bytes = stackalloc byte[128];
        return Convert.TryFromBase64String(signature, bytes, out var length) && key.VerifyData(data, bytes[..length], HashAlgorithmName.SHA256);
    }
}

/// <summary>Settings of the audit trail (<c>Agentic:Audit</c>).</summary>
public sealed class AuditOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Agentic:Audit";

    /// <summary>The secret (Key Vault in Azure; <c>Agentic:Secrets:{name}</c> locally) holding the PKCS#8 PEM ECDSA P-256 signing key.</summary>
    public string SigningKeySecret { get; set; } = "audit-signing-key";

    /// <summary>Public keys (PEM) of earlier signing keys, so checkpoints they signed stay verifiable after a rotation.</summary>
    public List<string> RetiredPublicKeys { get; set; } = [];

    /// <summary>How often heads appended since the last checkpoint are signed, besides each run's end.</summary>
    public int CheckpointSeconds { get; set; } = 60;
}

/// <summary>
/// Signs checkpoints with the key from the secret store. The private key is read when a checkpoint is signed and
/// never leaves this class: not in a log, an exception, a record or a response.
/// </summary>
public sealed class AuditSigner(ISecretProvider secrets, AuditOptions options) : IDisposable
{
    private readonly SemaphoreSlim _lock = new(1, 1);
    private (string Digest, ECDsa Key, AuditPublicKey Public)? _current;

    /// <summary>The signing key's public half.</summary>
    public async Task<AuditPublicKey> PublicKeyAsync(CancellationToken cancellationToken) => (await KeyAsync(cancellationToken)).Public;

    /// <summary>The keys a verifier of this deployment trusts: the current one, then the retired ones.</summary>
    public async Task<IReadOnlyList<AuditPublicKey>> TrustedKeysAsync(CancellationToken cancellationToken)
    {
        var current = await PublicKeyAsync(cancellationToken);
        return [current, .. options.RetiredPublicKeys.SelectMany(AuditPublicKey.ParseAll).Where(k => k.KeyId != current.KeyId)];
    }

    /// <summary>
    /// Signs what <paramref name="build"/> makes for the current key (the signed data names its key); the signature
    /// (IEEE P1363, base64) and the key that made it.
    /// </summary>
    public async Task<(string Signature, AuditPublicKey Key)> SignAsync(Func<AuditPublicKey, byte[]> build, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(build);
        var (_, key, pub) = await KeyAsync(cancellationToken);
        return (Convert.ToBase64String(key.SignData(build(pub), HashAlgorithmName.SHA256)), pub);
    }

    private async Task<(string Digest, ECDsa Key, AuditPublicKey Public)> KeyAsync(CancellationToken cancellationToken)
    {
        var pem = await secrets.GetAsync(options.SigningKeySecret, cancellationToken)
            ?? throw new InvalidOperationException($"The audit signing key secret '{options.SigningKeySecret}' is not set (Key Vault secret, or Agentic:Secrets:{options.SigningKeySecret} on a dev box): checkpoints can not be signed.");
        var digest = AgenticJson.Digest(pem);
        await _lock.WaitAsync(cancellationToken);
        try
        {
            if (_current is { } current && current.Digest == digest)
            {
                return current;
            }
            var key = ECDsa.Create();
            try
            {
                key.ImportFromPem(pem);
            }
            catch (Exception ex) when (ex is ArgumentException or CryptographicException)
            {
                key.Dispose();
                // The exception text may quote the value; it is not passed on.
                throw new InvalidOperationException($"The audit signing key secret '{options.SigningKeySecret}' is not a PEM ECDSA private key.");
            }
            if (key.KeySize != 256)
            {
                key.Dispose();
                throw new InvalidOperationException($"The audit signing key secret '{options.SigningKeySecret}' holds a {key.KeySize}-bit key; P-256 is required.");
            }
            var spki = key.ExportSubjectPublicKeyInfo();
            _current?.Key.Dispose();
            _current = (digest, key, new AuditPublicKey(AuditPublicKey.IdOf(spki), Convert.ToBase64String(spki)));
            return _current.Value;
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _current?.Key.Dispose();
        _lock.Dispose();
    }

    /// <summary>A new P-256 signing key as PKCS#8 PEM (for <c>agentic up</c> on a dev box and for tests).</summary>
    public static string NewKeyPem()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return key.ExportPkcs8PrivateKeyPem();
    }
}

/// <summary>
/// Signs checkpoints of the heads this process appended: at each run's end (the run's chain, and whatever else is
/// pending) and on an interval. Concurrent requests share one checkpoint: a request that waited while another
/// checkpoint covered its chain returns at once.
/// </summary>
public sealed class AuditCheckpointer(ICheckpointStore store, AuditHeads heads, AuditSigner signer, TimeProvider clock, ILogger<AuditCheckpointer> logger) : IDisposable
{
    private const int MaxAttempts = 50;

    private readonly SemaphoreSlim _gate = new(1, 1);
    private CheckpointTail? _tail;

    /// <summary>
    /// Signs a checkpoint of every pending head, unless <paramref name="chain"/> is given and no longer pending; the
    /// checkpoint, or <c>null</c> when there was nothing to sign.
    /// </summary>
    public async Task<AuditCheckpoint?> CheckpointAsync(string? chain, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (chain is not null && !heads.IsPending(chain))
            {
                return null;
            }
            var pending = heads.Pending();
            if (pending.Count == 0)
            {
                return null;
            }
            var leaves = pending.Select(p => new CheckpointLeaf(p.Key, p.Value.Length, p.Value.Hash)).OrderBy(l => l.Chain, StringComparer.Ordinal).ToList();
            var root = "sha256:" + Convert.ToHexStringLower(Merkle.Root(leaves));
            _tail ??= await store.GetTailAsync(cancellationToken);
            for (var attempt = 1; ; attempt++)
            {
                var number = (_tail?.Number ?? 0) + 1;
                var unsigned = new AuditCheckpoint(number, _tail?.Hash ?? AuditChain.Genesis, clock.GetUtcNow(), "", "", leaves, root, "");
                var (signature, key) = await signer.SignAsync(k => (unsigned = unsigned with { KeyId = k.KeyId, PublicKey = k.PublicKey }).SignedBytes(), cancellationToken);
                var checkpoint = unsigned with { Signature = signature };
                if (await store.TryAppendAsync(_tail, number, checkpoint.Line(), cancellationToken) is { } tail)
                {
                    _tail = tail;
                    heads.Covered(pending);
                    AuditMetrics.Checkpointed();
                    AuditLogs.Checkpointed(logger, number, leaves.Count, key.KeyId);
                    return checkpoint;
                }
                if (attempt >= MaxAttempts)
                {
                    throw new InvalidOperationException($"Checkpoint {number} could not be appended: {MaxAttempts} other writers got there first.");
                }
                // Another host appended a checkpoint: sign against its tail.
                _tail = await store.GetTailAsync(cancellationToken);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public void Dispose() => _gate.Dispose();
}

internal static partial class AuditLogs
{
    [LoggerMessage(EventId = 40, Level = LogLevel.Debug, Message = "Audit checkpoint {Number} signed {Chains} chain head(s) with key {KeyId}")]
    public static partial void Checkpointed(ILogger logger, long number, int chains, string keyId);

    [LoggerMessage(EventId = 41, Level = LogLevel.Warning, Message = "Audit purge by {By}: {Purged} chain(s) purged, {Resumed} earlier purge(s) finished, {Skipped} old chain(s) kept")]
    public static partial void Purged(ILogger logger, int purged, int resumed, int skipped, string by);
}
