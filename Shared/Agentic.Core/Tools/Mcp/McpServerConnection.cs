using System.Text.Json;
using System.Text.Json.Nodes;
using Agentic.Core.Secrets;
using Agentic.Core.Tools.Builtin;
using Microsoft.Extensions.Logging;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Agentic.Core.Tools.Mcp;

/// <summary>
/// The session with one configured MCP server, opened on first use and opened again after it ends. A stdio server is
/// started with only the variables configured for it (PATH, HOME and the like, <see cref="McpServerOptions.Environment"/>
/// and the secrets named in <see cref="McpServerOptions.SecretEnvironment"/>), never the host's environment; an HTTP
/// server is reached through the egress rules and the <see cref="EgressClient"/> (<see cref="McpEgressHandler"/>), with
/// only <see cref="McpServerOptions.SecretHeaders"/> added.
/// </summary>
/// <remarks>
/// The pin checks of a step's plan, gate and act read what the server announces through <see cref="AnnouncementAsync"/>,
/// which answers from one listing for <see cref="McpServerOptions.AnnouncementMaxAgeSeconds"/> (concurrent checks share
/// the listing in flight). A listing is forgotten when the session ends and when the server says its tools changed
/// (<c>notifications/tools/list_changed</c>); a failed listing is never reused. Pinning and the admin's status view always
/// list afresh (<see cref="ListAsync"/>).
/// </remarks>
public sealed class McpServerConnection : IAsyncDisposable
{
    /// <summary>The key under <c>_meta</c> of every call that carries the step's idempotency key (<c>{run}/{step}</c>).</summary>
    public const string IdempotencyKeyMeta = "agentic/idempotencyKey";

    private readonly McpServerOptions _options;
    private readonly ISecretProvider _secrets;
    private readonly EgressPolicy _egress;
    private readonly EgressClient _client;
    private readonly ILoggerFactory? _loggers;
    private readonly TimeProvider _clock;
    private readonly SemaphoreSlim _connect = new(1, 1);
    private readonly Lock _listing = new();
    private McpClient? _session;
    // The newest listing (in flight or done) and when it was asked for.
    private (long At, Task<IReadOnlyList<McpAnnouncement>> Tools)? _recent;
    private int _disposed;

    /// <summary>A connection to the server <paramref name="name"/>, not opened yet.</summary>
    public McpServerConnection(string name, McpServerOptions options, ISecretProvider secrets, EgressPolicy egress, EgressClient client, ILoggerFactory? loggers = null,
        TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        Name = name;
        _options = options;
        _secrets = secrets;
        _egress = egress;
        _client = client;
        _loggers = loggers;
        _clock = clock ?? TimeProvider.System;
    }

    /// <summary>The configured server name.</summary>
    public string Name { get; }

    /// <summary>The server's settings.</summary>
    public McpServerOptions Options => _options;

    /// <summary>
    /// Every tool the server announces now, in its order (all pages), asked for afresh. Bounded by
    /// <see cref="McpServerOptions.ConnectTimeoutSeconds"/>; throws when the server can not be reached or answers with an error.
    /// </summary>
    public Task<IReadOnlyList<McpAnnouncement>> ListAsync(CancellationToken cancellationToken) => ListingAsync(reuse: false, cancellationToken);

    /// <summary>
    /// What the server announces for <paramref name="tool"/>, from a listing at most
    /// <see cref="McpServerOptions.AnnouncementMaxAgeSeconds"/> old (or in flight), or <c>null</c> when it does not announce it.
    /// </summary>
    public async Task<McpAnnouncement?> AnnouncementAsync(string tool, CancellationToken cancellationToken) =>
        (await RecentAsync(cancellationToken)).FirstOrDefault(t => string.Equals(t.Tool, tool, StringComparison.Ordinal));

    private Task<IReadOnlyList<McpAnnouncement>> RecentAsync(CancellationToken cancellationToken) => ListingAsync(reuse: true, cancellationToken);

    private Task<IReadOnlyList<McpAnnouncement>> ListingAsync(bool reuse, CancellationToken cancellationToken)
    {
        var maxAge = TimeSpan.FromSeconds(_options.AnnouncementMaxAgeSeconds);
        Task<Task<IReadOnlyList<McpAnnouncement>>>? start = null;
        Task<IReadOnlyList<McpAnnouncement>> listing;
        lock (_listing)
        {
            if (reuse && _recent is { } recent
                && (!recent.Tools.IsCompleted || (recent.Tools.IsCompletedSuccessfully && _clock.GetElapsedTime(recent.At) < maxAge)))
            {
                listing = recent.Tools;
            }
            else
            {
                // Started once the lock is released: opening a session takes other locks.
                start = new Task<Task<IReadOnlyList<McpAnnouncement>>>(ListNowAsync);
                listing = start.Unwrap();
                _recent = (_clock.GetTimestamp(), listing);
            }
        }
        start?.Start(TaskScheduler.Default);
        return listing.WaitAsync(cancellationToken);
    }

    // Forgets a listing that is done (a listing in flight may be the one that opened the session, and is still new).
    private void ForgetListed(bool inFlightToo = false)
    {
        lock (_listing)
        {
            if (_recent is { } recent && (inFlightToo || recent.Tools.IsCompleted))
            {
                _recent = null;
            }
        }
    }

    // Not bound to one caller's cancellation, since several may share it: the connect timeout bounds it.
    private async Task<IReadOnlyList<McpAnnouncement>> ListNowAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(_options.ConnectTimeoutSeconds), _clock);
        return await WithSessionAsync(async session =>
        {
            var tools = new List<McpAnnouncement>();
            string? cursor = null;
            do
            {
                var page = await session.ListToolsAsync(new ListToolsRequestParams { Cursor = cursor }, timeout.Token);
                tools.AddRange(page.Tools.Select(t => new McpAnnouncement(Name, t.Name, t.Description, t.InputSchema)));
                cursor = page.NextCursor;
            }
            while (cursor is not null && tools.Count < 10_000);
            return (IReadOnlyList<McpAnnouncement>)tools;
        }, timeout.Token);
    }

    /// <summary>Calls <paramref name="tool"/> with <paramref name="arguments"/> (a JSON object).</summary>
    public Task<CallToolResult> CallAsync(string tool, JsonElement arguments, string idempotencyKey, CancellationToken cancellationToken)
    {
        var request = new CallToolRequestParams
        {
            Name = tool,
            Arguments = arguments.ValueKind == JsonValueKind.Object
                ? arguments.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone(), StringComparer.Ordinal)
                : new Dictionary<string, JsonElement>(StringComparer.Ordinal),
            Meta = new JsonObject { [IdempotencyKeyMeta] = idempotencyKey },
        };
        return WithSessionAsync(session => session.CallToolAsync(request, cancellationToken).AsTask(), cancellationToken);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        await _connect.WaitAsync();
        try
        {
            if (_session is { } session)
            {
                _session = null;
                await session.DisposeAsync();
            }
        }
        finally
        {
            _connect.Release();
        }
        _connect.Dispose();
    }

    // Runs on the open session; a session that failed underneath (the process exited, the transport closed) is dropped,
    // so the next call opens a new one. An error answer (McpProtocolException) leaves the session open.
    private async Task<T> WithSessionAsync<T>(Func<McpClient, Task<T>> use, CancellationToken cancellationToken)
    {
        var session = await SessionAsync(cancellationToken);
        try
        {
            return await use(session);
        }
        catch (Exception ex) when (ex is not McpProtocolException && !cancellationToken.IsCancellationRequested)
        {
            await DropAsync(session);
            throw;
        }
    }

    private async Task<McpClient> SessionAsync(CancellationToken cancellationToken)
    {
        await _connect.WaitAsync(cancellationToken);
        try
        {
            if (_session is { Completion.IsCompleted: false } open)
            {
                return open;
            }
            if (_session is { } ended)
            {
                // A new session may be a new process that announces otherwise.
                ForgetListed();
                _session = null;
                await ended.DisposeAsync();
            }
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(_options.ConnectTimeoutSeconds));
            var transport = await TransportAsync(timeout.Token);
            _session = await McpClient.CreateAsync(transport, new McpClientOptions
            {
                ClientInfo = new Implementation { Name = "agentic", Version = typeof(McpServerConnection).Assembly.GetName().Version?.ToString() ?? "1.0.0" },
            }, _loggers, timeout.Token);
            // A server that says its tools changed is listed again.
            _session.RegisterNotificationHandler(NotificationMethods.ToolListChangedNotification, (_, _) =>
            {
                ForgetListed(inFlightToo: true);
                return ValueTask.CompletedTask;
            });
            return _session;
        }
        finally
        {
            _connect.Release();
        }
    }

    private async Task DropAsync(McpClient session)
    {
        await _connect.WaitAsync();
        try
        {
            if (ReferenceEquals(_session, session))
            {
                _session = null;
                ForgetListed();
            }
        }
        finally
        {
            _connect.Release();
        }
        try
        {
            await session.DisposeAsync();
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or HttpRequestException or ToolException or McpException or ObjectDisposedException)
        {
            // The session was already broken; what its disposal reports adds nothing.
        }
    }

    private async Task<IClientTransport> TransportAsync(CancellationToken cancellationToken)
    {
        if (_options.Url is { Length: > 0 } url)
        {
            var endpoint = new Uri(url, UriKind.Absolute);
            var templates = _options.SecretHeaders.ToDictionary(h => h.Key, h => SecretTemplate.Parse(h.Value), StringComparer.OrdinalIgnoreCase);
            var http = new HttpClient(new McpEgressHandler(Name, endpoint, _egress, _client, _secrets, templates), disposeHandler: true)
            {
                // Calls are bounded by the tool's timeout and listing by the connect timeout, through cancellation.
                Timeout = Timeout.InfiniteTimeSpan,
            };
            return new HttpClientTransport(new HttpClientTransportOptions
            {
                Endpoint = endpoint,
                Name = Name,
                TransportMode = HttpTransportMode.StreamableHttp,
                // Only answers to the client's own requests are read; nothing the server sends unasked is needed.
                EnableStandaloneGetStream = false,
            }, http, _loggers, ownsHttpClient: true);
        }
        return new StdioClientTransport(await StdioOptionsAsync(cancellationToken), _loggers);
    }

    /// <summary>
    /// How the stdio server is started. Not with the host's environment (it holds storage and identity settings): the few
    /// variables a program needs to start, the configured ones, and the configured secrets, resolved now.
    /// </summary>
    internal async Task<StdioClientTransportOptions> StdioOptionsAsync(CancellationToken cancellationToken)
    {
        var environment = StdioClientTransportOptions.GetDefaultEnvironmentVariables();
        foreach (var (variable, value) in _options.Environment)
        {
            environment[variable] = value;
        }
        foreach (var (variable, secret) in _options.SecretEnvironment)
        {
            environment[variable] = await _secrets.GetAsync(secret, cancellationToken)
                ?? throw new ToolException($"The secret '{secret}' for MCP server '{Name}' is not configured.", retryable: false);
        }
        return new StdioClientTransportOptions
        {
            Command = _options.Command!,
            Arguments = [.. _options.Arguments],
            WorkingDirectory = _options.WorkingDirectory,
            Name = Name,
            InheritEnvironmentVariables = false,
            EnvironmentVariables = environment,
        };
    }
}
