using System.Security.Cryptography;
using Azure;
using Azure.Storage.Blobs;

namespace Agentic.Azure;

/// <summary>A payload kept in a blob: where, and the SHA-256 that proves it was not changed.</summary>
public sealed record PayloadRef(Uri Uri, string Sha256);

/// <summary>
/// Content-addressed blob storage for payloads too large for a queue message or a table property.
/// Blobs are named by their SHA-256, so writing the same payload twice is harmless.
/// </summary>
public sealed class PayloadStore(StorageClients clients)
{
    private readonly BlobContainerClient _container = clients.Blobs.GetBlobContainerClient(clients.Options.HubName + "-payloads");

    /// <summary>The container, for start-up provisioning.</summary>
    public BlobContainerClient Container => _container;

    /// <summary>Stores <paramref name="content"/> and returns its reference.</summary>
    public async Task<PayloadRef> PutAsync(ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        var sha = Convert.ToHexStringLower(SHA256.HashData(content.Span));
        var blob = _container.GetBlobClient(sha);
        try
        {
            await blob.UploadAsync(BinaryData.FromBytes(content), overwrite: false, cancellationToken);
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            // Same name, same content: already stored.
        }
        return new PayloadRef(blob.Uri, sha);
    }

    /// <summary>Reads a payload back and verifies its digest.</summary>
    public async Task<byte[]> GetAsync(PayloadRef reference, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reference);
        var name = reference.Uri.Segments[^1];
        var content = (await _container.GetBlobClient(name).DownloadContentAsync(cancellationToken)).Value.Content.ToArray();
        var sha = Convert.ToHexStringLower(SHA256.HashData(content));
        if (!string.Equals(sha, reference.Sha256, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"Payload {reference.Uri} has SHA-256 {sha}, expected {reference.Sha256}: it was changed.");
        }
        return content;
    }
}
