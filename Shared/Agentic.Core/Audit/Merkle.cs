using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Agentic.Core.Audit;

/// <summary>
/// The Merkle tree of a checkpoint (RFC 6962 / RFC 9162 section 2.1): leaves are chain heads, <c>SHA-256(0x00 || leaf)</c>,
/// nodes <c>SHA-256(0x01 || left || right)</c>, split at the largest power of two below the size. An inclusion proof
/// shows one chain's head is under a signed root without the other leaves.
/// </summary>
public static class Merkle
{
    /// <summary>The leaf hash of a chain head: the canonical JSON of chain, head and length.</summary>
    public static byte[] LeafHash(CheckpointLeaf leaf)
    {
        ArgumentNullException.ThrowIfNull(leaf);
        var canonical = Jcs.Canonicalize(JsonSerializer.SerializeToElement(new JsonObject { ["chain"] = leaf.Chain, ["head"] = leaf.Head, ["length"] = leaf.Length }));
        var buffer = new byte[canonical.Length + 1];
        canonical.CopyTo(buffer, 1);
        return SHA256.HashData(buffer);
    }

    /// <summary>The root over <paramref name="leaves"/> in their order.</summary>
    public static byte[] Root(IReadOnlyList<CheckpointLeaf> leaves)
    {
        ArgumentNullException.ThrowIfNull(leaves);
        if (leaves.Count == 0)
        {
            return SHA256.HashData([]);
        }
        var hashes = leaves.Select(LeafHash).ToArray();
        return Tree(hashes, 0, hashes.Length);
    }

    /// <summary>The audit path of leaf <paramref name="index"/>: sibling hashes from the leaf up.</summary>
    public static IReadOnlyList<byte[]> Proof(IReadOnlyList<CheckpointLeaf> leaves, int index)
    {
        ArgumentNullException.ThrowIfNull(leaves);
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, leaves.Count);
        var hashes = leaves.Select(LeafHash).ToArray();
        var path = new List<byte[]>();
        Path(hashes, index, 0, hashes.Length, path);
        return path;
    }

    /// <summary>Whether <paramref name="leaf"/> at <paramref name="index"/> of a tree of <paramref name="size"/> leaves is under <paramref name="root"/>.</summary>
    public static bool VerifyInclusion(CheckpointLeaf leaf, long index, long size, IReadOnlyList<byte[]> proof, ReadOnlySpan<byte> root)
    {
        ArgumentNullException.ThrowIfNull(proof);
        if (index < 0 || index >= size)
        {
            return false;
        }
        // RFC 9162, section 2.1.3.2.
        var fn = index;
        var sn = size - 1;
        var r = LeafHash(leaf);
        foreach (var p in proof)
        {
            if (sn == 0)
            {
                return false;
            }
            if ((fn & 1) == 1 || fn == sn)
            {
                r = Node(p, r);
                if ((fn & 1) == 0)
                {
                    while ((fn & 1) == 0 && fn != 0)
                    {
                        fn >>= 1;
                        sn >>= 1;
                    }
                }
            }
            else
            {
                r = Node(r, p);
            }
            fn >>= 1;
            sn >>= 1;
        }
        return sn == 0 && r.AsSpan().SequenceEqual(root);
    }

    private static byte[] Tree(byte[][] hashes, int start, int count)
    {
        if (count == 1)
        {
            return hashes[start];
        }
        var k = Split(count);
        return Node(Tree(hashes, start, k), Tree(hashes, start + k, count - k));
    }

    private static void Path(byte[][] hashes, int index, int start, int count, List<byte[]> path)
    {
        if (count == 1)
        {
            return;
        }
        var k = Split(count);
        if (index < k)
        {
            Path(hashes, index, start, k, path);
            path.Add(Tree(hashes, start + k, count - k));
        }
        else
        {
            Path(hashes, index - k, start + k, count - k, path);
            path.Add(Tree(hashes, start, k));
        }
    }

    // The largest power of two smaller than count (count > 1).
    private static int Split(int count)
    {
        var k = 1;
        while (k << 1 < count)
        {
            k <<= 1;
        }
        return k;
    }

    private static byte[] Node(byte[] left, byte[] right)
    {
        Span<byte> buffer = stackalloc byte[65];
        buffer[0] = 1;
        left.CopyTo(buffer[1..]);
        right.CopyTo(buffer[33..]);
        return SHA256.HashData(buffer);
    }
}
