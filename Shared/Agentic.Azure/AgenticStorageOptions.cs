using System.ComponentModel.DataAnnotations;

namespace Agentic.Azure;

/// <summary>
/// Where the product keeps its state. Bound from the <c>Agentic</c> section:
/// <code>
/// "Agentic": {
///   "HubName": "agentic",              // prefix of every table, queue and container
///   "StorageConnection": "AgenticStorage"  // name of the connection setting (see below)
/// }
/// </code>
/// The connection setting itself follows Azure Functions' convention: either a connection string
/// (<c>"AgenticStorage": "UseDevelopmentStorage=true"</c>) or identity-based service URIs
/// (<c>"AgenticStorage__queueServiceUri"</c>, <c>__tableServiceUri</c>, <c>__blobServiceUri</c>, or
/// <c>__accountName</c>) used with <c>DefaultAzureCredential</c>.
/// </summary>
public sealed class AgenticStorageOptions
{
    /// <summary>The configuration section name.</summary>
    public const string Section = "Agentic";

    /// <summary>Prefix of every table, queue and blob container: letters and digits, starting with a letter.</summary>
    [Required]
    [RegularExpression("^[a-z][a-z0-9]{2,30}$", ErrorMessage = "Agentic:HubName must be 3 to 31 lowercase letters or digits, starting with a letter.")]
    public string HubName { get; set; } = "agentic";

    /// <summary>The name of the configuration entry holding the storage connection.</summary>
    [Required]
    public string StorageConnection { get; set; } = "AgenticStorage";

    /// <summary>Messages or state larger than this many bytes go to a blob and are referenced by URI and digest.</summary>
    [Range(1024, 60 * 1024)]
    public int MaxInlineBytes { get; set; } = 48 * 1024;
}
