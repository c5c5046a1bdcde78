using System.Globalization;
using System.Runtime.CompilerServices;
using Agentic.Core.Audit;
using Agentic.Core.Json;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;

namespace Agentic.Azure;

/// <summary>
/// Checkpoints as lines of canonical JSON in append blobs, <c>checkpoints/{segment:D6}.jsonl</c> in the container
/// <c>{hub}-audit</c>, which <c>infra/</c> puts under a time-based immutability policy with protected append writes: a
/// line can be added, never changed or removed. A segment takes <see cref="BlocksPerSegment"/> checkpoints, then the next
/// is started (an append blob holds at most 50,000 blocks). Appends are conditional on the blob's ETag, so checkpoints
/// from several hosts form one numbered sequence.
/// </summary>
public sealed class BlobCheckpointStore(StorageClients clients) : ICheckpointStore
{
    /// <summary>Checkpoints per append blob.</summary>
    public const int BlocksPerSegment = 10_000;

    /// <summary>The container's name after the hub name.</summary>
    public const string ContainerSuffix = "-audit";

    private const string Prefix = "checkpoints/";

    // What is read of a segment's end to find its last line: a checkpoint line is far smaller.
    private const int TailBytes = 256 * 1024;

    private readonly BlobContainerClient _container = clients.Blobs.GetBlobContainerClient(clients.Options.HubName + ContainerSuffix);

    /// <summary>The container, for provisioning and for tools that read it as it is.</summary>
    public BlobContainerClient Container => _container;

    /// <summary>The blob name of segment <paramref name="segment"/>.</summary>
    public static string SegmentName(int segment) => Prefix + segment.ToString("D6", CultureInfo.InvariantCulture) + ".jsonl";

    /// <inheritdoc />
    public async Task<CheckpointTail?> GetTailAsync(CancellationToken cancellationToken)
    {
        var segments = await SegmentsAsync(cancellationToken);
        if (segments.Count == 0)
        {
            return null;
        }
        var last = segments[^1];
        var blob = _container.GetAppendBlobClient(SegmentName(last));
        var properties = (await blob.GetPropertiesAsync(cancellationToken: cancellationToken)).Value;
        var version = Version(last, properties.ETag, properties.BlobCommittedBlockCount);
        // A segment just started holds no line yet: the previous one ends the sequence.
        for (var i = segments.Count - 1; i >= 0; i--)
        {
            if (await LastLineAsync(_container.GetAppendBlobClient(SegmentName(segments[i])), cancellationToken) is { } line)
            {
                return new CheckpointTail(AuditCheckpoint.Parse(line).Number, AgenticJson.Digest(line), version);
            }
        }
        return new CheckpointTail(0, AuditChain.Genesis, version);
    }

    /// <inheritdoc />
    public async Task<CheckpointTail?> TryAppendAsync(CheckpointTail? expected, long number, byte[] line, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(line);
        var (segment, etag, blocks) = expected is null ? (0, default(ETag), 0) : ParseVersion(expected.Version);
        if (expected is null || blocks >= BlocksPerSegment)
        {
            // Start a segment; of hosts that race to, one creates it and the others see the tail moved.
            segment++;
            try
            {
                var created = await _container.GetAppendBlobClient(SegmentName(segment)).CreateAsync(
                    new AppendBlobCreateOptions { Conditions = new AppendBlobRequestConditions { IfNoneMatch = ETag.All } }, cancellationToken);
                etag = created.Value.ETag;
            }
            catch (RequestFailedException ex) when (ex.Status is 409 or 412)
            {
                return null;
            }
        }
        var data = new byte[line.Length + 1];
        line.CopyTo(data, 0);
        data[^1] = (byte)'\n';
        try
        {
            using var stream = new MemoryStream(data);
            var appended = await _container.GetAppendBlobClient(SegmentName(segment)).AppendBlockAsync(
                stream, new AppendBlobAppendBlockOptions { Conditions = new AppendBlobRequestConditions { IfMatch = etag } }, cancellationToken);
            return new CheckpointTail(number, AgenticJson.Digest(line), Version(segment, appended.Value.ETag, appended.Value.BlobCommittedBlockCount));
        }
        catch (RequestFailedException ex) when (ex.Status is 412 or 409)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<StoredCheckpoint> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var segment in await SegmentsAsync(cancellationToken))
        {
            var name = SegmentName(segment);
            var content = (await _container.GetBlobClient(name).DownloadContentAsync(cancellationToken)).Value.Content.ToArray();
            var start = 0;
            var lineNumber = 0;
            for (var i = 0; i <= content.Length; i++)
            {
                if (i == content.Length || content[i] == (byte)'\n')
                {
                    if (i > start)
                    {
                        lineNumber++;
                        yield return new StoredCheckpoint($"{name}:{lineNumber}", content[start..i]);
                    }
                    start = i + 1;
                }
            }
        }
    }

    private async Task<List<int>> SegmentsAsync(CancellationToken cancellationToken)
    {
        var segments = new List<int>();
        try
        {
            await foreach (var blob in _container.GetBlobsAsync(new GetBlobsOptions { Prefix = Prefix }, cancellationToken))
            {
                var name = blob.Name[Prefix.Length..];
                if (name.EndsWith(".jsonl", StringComparison.Ordinal) && int.TryParse(name.AsSpan(0, name.Length - ".jsonl".Length), NumberStyles.None, CultureInfo.InvariantCulture, out var n))
                {
                    segments.Add(n);
                }
            }
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // No container: no checkpoints.
        }
        segments.Sort();
        return segments;
    }

    private static async Task<byte[]?> LastLineAsync(AppendBlobClient blob, CancellationToken cancellationToken)
    {
        var length = (await blob.GetPropertiesAsync(cancellationToken: cancellationToken)).Value.ContentLength;
        if (length == 0)
        {
            return null;
        }
        var from = Math.Max(0, length - TailBytes);
        var content = (await blob.DownloadContentAsync(new BlobDownloadOptions { Range = new HttpRange(from) }, cancellationToken)).Value.Content.ToArray();
        var end = content.Length;
        while (end > 0 && content[end - 1] == (byte)'\n')
        {
            end--;
        }
        var start = Array.LastIndexOf(content, (byte)'\n', Math.Max(0, end - 1)) + 1;
        return end > start ? content[start..end] : null;
    }

    private static string Version(int segment, ETag etag, int blocks) =>
        string.Create(CultureInfo.InvariantCulture, $"{segment}|{blocks}|{etag}");

    private static (int Segment, ETag ETag, int Blocks) ParseVersion(string version)
    {
        var parts = version.Split('|', 3);
        return (int.Parse(parts[0], CultureInfo.InvariantCulture), new ETag(parts[2]), int.Parse(parts[1], CultureInfo.InvariantCulture));
    }
}
