using System.Text.Json.Nodes;
using Agentic.Core.Audit;
using Agentic.Core.Json;

namespace Agentic.Core.Tools.Mcp;

/// <summary>What a server announces for a tool against its pin.</summary>
public enum McpPinStatus
{
    /// <summary>The server announces exactly what an admin pinned: the tool may run.</summary>
    Pinned,
    /// <summary>Nobody pinned the tool yet: refused.</summary>
    Unpinned,
    /// <summary>The server announces another description or schema than the pin: refused until pinned again.</summary>
    Changed,
    /// <summary>The server no longer announces the tool: refused.</summary>
    Missing,
    /// <summary>The server could not be reached to ask.</summary>
    Unreachable,
}

/// <summary>One MCP tool's standing: the announcement now, the pin, and how they compare.</summary>
public sealed record McpToolStatus(string Tool, string Server, string RemoteName, McpPinStatus Status, McpAnnouncement? Announced, McpPin? Pin, string? Error);

/// <summary>What pinning answered.</summary>
public enum McpPinOutcome
{
    /// <summary>Pinned.</summary>
    Pinned,
    /// <summary>No MCP tool has that name.</summary>
    UnknownTool,
    /// <summary>The server announces something else than the hash the admin reviewed (or nothing): not pinned.</summary>
    Conflict,
}

/// <summary>
/// Pinning against tool poisoning. A tool's announcement (name, description, input schema, <see cref="McpAnnouncement.Hash"/>)
/// runs only while it equals the pin an admin made: the planner, the gate and the act activity each ask what the server
/// announces (from a listing at most <see cref="McpServerOptions.AnnouncementMaxAgeSeconds"/> old) and refuse an unpinned
/// tool (<c>mcp-unpinned:{tool}</c>) or one announced differently (<c>mcp-changed:{tool}</c>, with the difference appended to
/// the control chain). A server that can not be asked fails the gate closed. A pin is made against a fresh listing. When the pinned announcement is not the one the tool's descriptor was made from (an admin pinned a new one),
/// the descriptor follows it and the registry compiles it again.
/// </summary>
public sealed class McpGovernance(Lazy<IMcpPinStore> pins, AuditLog audit, TimeProvider clock) : IToolGuard
{
    // The texts recorded with a change are clipped: a record stays well inside a table row.
    private const int MaxRecordedText = 4096;

    /// <summary>The rule of a refusal of an unpinned tool.</summary>
    public static string UnpinnedRule(string tool) => $"mcp-unpinned:{tool}";

    /// <summary>The rule of a refusal of a tool announced otherwise than pinned, or no longer announced.</summary>
    public static string ChangedRule(string tool) => $"mcp-changed:{tool}";

    /// <inheritdoc />
    public async Task<ToolRefusal?> CheckAsync(ToolRegistry registry, ITool tool, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(registry);
        if (tool is not McpTool mcp)
        {
            return null;
        }
        var name = mcp.Descriptor.Name;
        var live = await mcp.Server.AnnouncementAsync(mcp.RemoteName, cancellationToken);
        var pin = await pins.Value.GetAsync(name, cancellationToken);
        if (live is null)
        {
            return new(ChangedRule(name), pin?.Hash ?? "unpinned", $"MCP server '{mcp.Server.Name}' no longer announces '{mcp.RemoteName}'.");
        }
        if (pin is null)
        {
            return new(UnpinnedRule(name), live.Hash,
                $"{name} as its server announces it ({AgenticJson.ShortDigest(live.Hash)}) is not pinned: an admin reviews its description and input schema and pins it.");
        }
        if (!string.Equals(pin.Hash, live.Hash, StringComparison.Ordinal))
        {
            await RecordChangeAsync(pin, live, cancellationToken);
            return new(ChangedRule(name), live.Hash, $"MCP server '{mcp.Server.Name}' announces {name} differently from the pin by {pin.PinnedBy} "
                + $"({AgenticJson.ShortDigest(pin.Hash)}, now {AgenticJson.ShortDigest(live.Hash)}; {Differences(pin, live)}): an admin reviews it and pins it again.");
        }
        if (!string.Equals(mcp.Announcement.Hash, live.Hash, StringComparison.Ordinal))
        {
            mcp.Adopt(live);
            registry.Refresh(mcp);
        }
        return null;
    }

    /// <summary>Every MCP tool of <paramref name="registry"/> with what its server announces now and its pin.</summary>
    public async Task<IReadOnlyList<McpToolStatus>> StatusAsync(ToolRegistry registry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(registry);
        var tools = McpTools(registry).ToList();
        var pinned = (await pins.Value.ListAsync(cancellationToken)).ToDictionary(p => p.Tool, StringComparer.Ordinal);
        var statuses = new List<McpToolStatus>();
        foreach (var server in tools.GroupBy(t => t.Server))
        {
            IReadOnlyList<McpAnnouncement>? announced = null;
            string? error = null;
            try
            {
                announced = await server.Key.ListAsync(cancellationToken);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                error = $"{ex.GetType().Name}: {ex.Message}";
            }
            foreach (var tool in server)
            {
                var pin = pinned.GetValueOrDefault(tool.Descriptor.Name);
                var live = announced?.FirstOrDefault(a => a.Tool == tool.RemoteName);
                var status = announced is null ? McpPinStatus.Unreachable
                    : live is null ? McpPinStatus.Missing
                    : pin is null ? McpPinStatus.Unpinned
                    : pin.Hash == live.Hash ? McpPinStatus.Pinned
                    : McpPinStatus.Changed;
                statuses.Add(new(tool.Descriptor.Name, server.Key.Name, tool.RemoteName, status, live, pin, error));
            }
        }
        return [.. statuses.OrderBy(s => s.Tool, StringComparer.Ordinal)];
    }

    /// <summary>
    /// Pins what the server announces now for <paramref name="tool"/>, provided its hash is <paramref name="hash"/> (what the
    /// admin reviewed); the pin is stored (and, through <see cref="AuditedMcpPinStore"/>, appended to the control chain).
    /// </summary>
    public async Task<(McpPinOutcome Outcome, McpPin? Pin, McpAnnouncement? Announced)> PinAsync(
        ToolRegistry registry, string tool, string hash, string by, string reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(registry);
        if (!registry.TryResolve(tool, out var resolved) || resolved is not McpTool mcp)
        {
            return (McpPinOutcome.UnknownTool, null, null);
        }
        // Afresh: the pin must name what the server announces now, not what it announced a moment ago.
        var live = (await mcp.Server.ListAsync(cancellationToken)).FirstOrDefault(a => string.Equals(a.Tool, mcp.RemoteName, StringComparison.Ordinal));
        if (live is null || !string.Equals(live.Hash, hash, StringComparison.Ordinal))
        {
            return (McpPinOutcome.Conflict, null, live);
        }
        var pin = McpPin.Of(live, by, clock.GetUtcNow(), reason);
        await pins.Value.PinAsync(pin, cancellationToken);
        if (!string.Equals(mcp.Announcement.Hash, live.Hash, StringComparison.Ordinal))
        {
            mcp.Adopt(live);
            registry.Refresh(mcp);
        }
        return (McpPinOutcome.Pinned, pin, live);
    }

    /// <summary>The MCP tools of <paramref name="registry"/>.</summary>
    public static IEnumerable<McpTool> McpTools(ToolRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        foreach (var descriptor in registry.Descriptors)
        {
            if (registry.TryResolve(descriptor.Name, out var tool) && tool is McpTool mcp)
            {
                yield return mcp;
            }
        }
    }

    // The change in the control chain: both digests of each part, and the texts. One record per pin and announcement
    // (the id names both hashes), however many steps the change refuses.
    private Task<AuditAppended> RecordChangeAsync(McpPin pin, McpAnnouncement live, CancellationToken cancellationToken)
    {
        var data = new JsonObject
        {
            ["tool"] = pin.Tool,
            ["pinnedHash"] = pin.Hash,
            ["announcedHash"] = live.Hash,
            ["pinnedBy"] = pin.PinnedBy,
            ["pinned"] = Part(pin.Description, pin.DescriptionDigest, pin.InputSchema, pin.SchemaDigest),
            ["announced"] = Part(live.Description, live.DescriptionDigest, live.InputSchema, live.SchemaDigest),
        };
        var id = $"{AuditKinds.McpChanged}/{pin.Tool}/{Hex(pin.Hash)}/{Hex(live.Hash)}";
        return audit.AppendAsync(AuditChain.Control, new AuditEntry(id, AuditKinds.McpChanged, clock.GetUtcNow(), AuditEntries.Data(data)), AuditConflict.Amend, cancellationToken);

        static JsonObject Part(string? description, string descriptionDigest, string schema, string schemaDigest) => new()
        {
            ["description"] = Clip(description),
            ["descriptionDigest"] = descriptionDigest,
            ["inputSchema"] = Clip(schema),
            ["schemaDigest"] = schemaDigest,
        };
    }

    private static string Differences(McpPin pin, McpAnnouncement live)
    {
        var description = pin.DescriptionDigest == live.DescriptionDigest ? "description unchanged" : $"description {AgenticJson.ShortDigest(pin.DescriptionDigest)} -> {AgenticJson.ShortDigest(live.DescriptionDigest)}";
        var schema = pin.SchemaDigest == live.SchemaDigest ? "input schema unchanged" : $"input schema {AgenticJson.ShortDigest(pin.SchemaDigest)} -> {AgenticJson.ShortDigest(live.SchemaDigest)}";
        return $"{description}, {schema}";
    }

    private static string? Clip(string? text) => text is { Length: > MaxRecordedText } ? text[..MaxRecordedText] + "…" : text;

    private static string Hex(string digest) => digest.StartsWith("sha256:", StringComparison.Ordinal) ? digest["sha256:".Length..][..16] : digest;
}
