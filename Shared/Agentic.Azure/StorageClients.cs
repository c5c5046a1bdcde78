using Azure.Core;
using Azure.Data.Tables;
using Azure.Identity;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Agentic.Azure;

/// <summary>
/// The three storage service clients, built once from configuration. A connection string wins;
/// otherwise service URIs with <see cref="DefaultAzureCredential"/> (managed identity in Azure).
/// </summary>
public sealed class StorageClients
{
    /// <summary>Builds the clients from the connection named by <see cref="AgenticStorageOptions.StorageConnection"/>.</summary>
    public StorageClients(IConfiguration configuration, IOptions<AgenticStorageOptions> options)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(options);
        Options = options.Value;
        var name = Options.StorageConnection;
        var connectionString = configuration[name] ?? configuration.GetConnectionString(name);
        var queueOptions = Configure(new QueueClientOptions());
        var tableOptions = Configure(new TableClientOptions());
        var blobOptions = Configure(new BlobClientOptions());
        if (!string.IsNullOrWhiteSpace(connectionString))
        {
            Queues = new QueueServiceClient(connectionString, queueOptions);
            Tables = new TableServiceClient(connectionString, tableOptions);
            Blobs = new BlobServiceClient(connectionString, blobOptions);
            Connection = new StorageConnection(connectionString, null);
            return;
        }
        var section = configuration.GetSection(name);
        var account = section["accountName"];
        Uri Service(string kind) =>
            section[$"{kind}ServiceUri"] is { Length: > 0 } uri ? new Uri(uri)
            : account is { Length: > 0 } ? new Uri($"https://{account}.{kind}.core.windows.net")
            : throw new InvalidOperationException(
                $"Storage connection '{name}' is not configured: set '{name}' to a connection string, or '{name}__accountName' / '{name}__{kind}ServiceUri' for identity-based access.");
        var credential = new DefaultAzureCredential(new DefaultAzureCredentialOptions { ManagedIdentityClientId = section["clientId"] });
        Queues = new QueueServiceClient(Service("queue"), credential, queueOptions);
        Tables = new TableServiceClient(Service("table"), credential, tableOptions);
        Blobs = new BlobServiceClient(Service("blob"), credential, blobOptions);
        Connection = new StorageConnection(null, new StorageIdentity(Service("blob"), Service("queue"), Service("table"), credential));
    }

    /// <summary>How the clients reach the account, for other clients of the same account (the local host's engine).</summary>
    public StorageConnection Connection { get; }

    /// <summary>The bound options (hub name, inline limit).</summary>
    public AgenticStorageOptions Options { get; }

    /// <summary>Queue service.</summary>
    public QueueServiceClient Queues { get; }

    /// <summary>Table service.</summary>
    public TableServiceClient Tables { get; }

    /// <summary>Blob service.</summary>
    public BlobServiceClient Blobs { get; }

    /// <summary>A table of this hub, e.g. <c>Table("runs")</c> is <c>{hub}runs</c>.</summary>
    public TableClient Table(string suffix) => Tables.GetTableClient(Options.HubName + suffix);

    /// <summary>A queue of this hub, e.g. <c>Queue("work")</c> is <c>{hub}-work</c>.</summary>
    public QueueClient Queue(string suffix) => Queues.GetQueueClient(Options.HubName + "-" + suffix);

    private static T Configure<T>(T options) where T : ClientOptions
    {
        // Fail fast and let the callers' loops back off: the SDK's default of 100 s per try hides outages.
        options.Retry.MaxRetries = 3;
        options.Retry.Mode = RetryMode.Exponential;
        options.Retry.Delay = TimeSpan.FromMilliseconds(200);
        options.Retry.MaxDelay = TimeSpan.FromSeconds(2);
        options.Retry.NetworkTimeout = TimeSpan.FromSeconds(15);
        return options;
    }
}

/// <summary>A storage account reached by connection string, or by service URIs and a credential.</summary>
public sealed record StorageConnection(string? ConnectionString, StorageIdentity? Identity);

/// <summary>The service URIs of an account reached with <paramref name="Credential"/>.</summary>
public sealed record StorageIdentity(Uri Blob, Uri Queue, Uri Table, global::Azure.Core.TokenCredential Credential);
