using Azure.Identity;
using Azure.Monitor.OpenTelemetry.Exporter;
using Microsoft.Extensions.Configuration;

namespace Agentic.Functions;

/// <summary>The worker's Azure Monitor exporter, set up the way the Functions host sets up its own.</summary>
internal static class AzureMonitor
{
    /// <summary>
    /// The connection string, and a token credential when <c>APPLICATIONINSIGHTS_AUTHENTICATION_STRING</c> says
    /// <c>Authorization=AAD</c>: infra/ turns App Insights' local auth off, so ingestion needs the app identity's token
    /// (<c>ClientId=...</c>, the user-assigned identity; the system identity when none is named).
    /// </summary>
    public static void Configure(AzureMonitorExporterOptions options, IConfiguration configuration, string connectionString)
    {
        options.ConnectionString = connectionString;
        var parts = (configuration["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] ?? "")
            .Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(p => p.Split('=', 2))
            .Where(p => p.Length == 2)
            .ToDictionary(p => p[0], p => p[1], StringComparer.OrdinalIgnoreCase);
        if (parts.TryGetValue("Authorization", out var kind) && string.Equals(kind, "AAD", StringComparison.OrdinalIgnoreCase))
        {
            options.Credential = parts.TryGetValue("ClientId", out var clientId) && clientId.Length > 0
                ? new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(clientId))
                : new ManagedIdentityCredential(ManagedIdentityId.SystemAssigned);
        }
    }
}
