using System.Globalization;
using System.Text;
using System.Text.Json;
using Agentic.Core.Json;

namespace Agentic.Core.Runs;

/// <summary>
/// The query of <c>GET /api/runs</c>, parsed strictly the same way in both hosts: every parameter at most once, no
/// parameter the route does not know (but <c>code</c>, the key), and each value checked.
/// </summary>
/// <param name="Status"><c>running</c>, <c>completed</c>, <c>failed</c> or <c>terminated</c>; <c>null</c> for any.</param>
/// <param name="Agent">Only runs of this agent.</param>
/// <param name="Principal">Only runs requested by this principal (compared as <see cref="PrincipalIds"/> do).</param>
/// <param name="CreatedFrom">Only runs created at or after this time.</param>
/// <param name="CreatedTo">Only runs created at or before this time.</param>
/// <param name="Top">The most runs one page holds.</param>
/// <param name="ContinuationToken">The token of the page to read, as a previous page returned it.</param>
public sealed record RunListQuery(
    string? Status = null,
    string? Agent = null,
    string? Principal = null,
    DateTimeOffset? CreatedFrom = null,
    DateTimeOffset? CreatedTo = null,
    int Top = ListPaging.DefaultTop,
    string? ContinuationToken = null)
{
    /// <summary>The statuses a run reports.</summary>
    public static IReadOnlyList<string> Statuses { get; } = ["running", "completed", "failed", "terminated"];

    private static readonly string[] Known = ["status", "agent", "principal", "createdFrom", "createdTo", ListPaging.TopParameter, ListPaging.TokenParameter];

    /// <summary>Parses a query string's parameters; throws <see cref="InputException"/> naming every bad one.</summary>
    public static RunListQuery Parse(IEnumerable<KeyValuePair<string, IReadOnlyList<string?>>> parameters)
    {
        var (values, errors) = ListPaging.Collect(parameters, Known);
        var status = values.GetValueOrDefault("status");
        if (status is not null && !Statuses.Contains(status, StringComparer.Ordinal))
        {
            errors.Add(new("status", $"'{status}' is not a run status: use {string.Join(", ", Statuses)}."));
        }
        var agent = ListPaging.Name(values, "agent", 128, errors);
        var principal = ListPaging.Name(values, "principal", 256, errors);
        var from = Time(values, "createdFrom", errors);
        var to = Time(values, "createdTo", errors);
        if (from is not null && to is not null && from > to)
        {
            errors.Add(new("createdTo", $"createdTo ({to:O}) is before createdFrom ({from:O})."));
        }
        var top = ListPaging.Top(values, errors);
        var token = ListPaging.Token(values, errors);
        return errors.Count > 0
            ? throw new InputException("Invalid run query", errors)
            : new RunListQuery(status, agent, principal, from, to, top, token);
    }

    /// <summary>
    /// What a continuation token is bound to: every filter (not <see cref="Top"/>, which may change from page to page),
    /// so a token can not be replayed under other filters and skip or repeat runs unnoticed.
    /// </summary>
    public string Scope() => ListPaging.Scope("runs", Status, Agent, Principal is null ? null : PrincipalIds.Normalize(Principal), CreatedFrom?.ToString("O", CultureInfo.InvariantCulture), CreatedTo?.ToString("O", CultureInfo.InvariantCulture));

    private static DateTimeOffset? Time(Dictionary<string, string> values, string name, List<InputError> errors)
    {
        if (values.GetValueOrDefault(name) is not { } text)
        {
            return null;
        }
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time))
        {
            return time;
        }
        errors.Add(new(name, $"'{text}' is not a time: use ISO 8601, e.g. 2026-01-31T12:00:00Z."));
        return null;
    }
}

/// <summary>
/// The query of <c>GET /api/approvals</c>: <c>status</c> (only <c>pending</c>, the default), <c>role</c> (only approvals
/// that role decides), <c>top</c> and <c>continuationToken</c>.
/// </summary>
public sealed record ApprovalListQuery(string? Role = null, int Top = ListPaging.DefaultTop, string? ContinuationToken = null)
{
    private static readonly string[] Known = ["status", "role", ListPaging.TopParameter, ListPaging.TokenParameter];

    /// <summary>Parses a query string's parameters; throws <see cref="InputException"/> naming every bad one.</summary>
    public static ApprovalListQuery Parse(IEnumerable<KeyValuePair<string, IReadOnlyList<string?>>> parameters)
    {
        var (values, errors) = ListPaging.Collect(parameters, Known);
        if (values.GetValueOrDefault("status") is { } status && status != "pending")
        {
            errors.Add(new("status", $"'{status}' is not listed: only pending approvals are (status=pending); decided ones are in each run's document and audit."));
        }
        var role = ListPaging.Name(values, "role", 128, errors);
        var top = ListPaging.Top(values, errors);
        var token = ListPaging.Token(values, errors);
        return errors.Count > 0
            ? throw new InputException("Invalid approval query", errors)
            : new ApprovalListQuery(role, top, token);
    }

    /// <summary>What a continuation token is bound to: the role filter and the caller the list is for.</summary>
    public string Scope(string caller) => ListPaging.Scope("approvals", Role?.ToUpperInvariant(), PrincipalIds.Normalize(caller));
}

/// <summary>
/// Paging of the list routes: <c>top</c> (1 to <see cref="MaxTop"/>, default <see cref="DefaultTop"/>) and an opaque
/// <c>continuationToken</c> that wraps the engine's own token with the filters it was issued for.
/// </summary>
public static class ListPaging
{
    /// <summary>Runs or approvals in a page when <c>top</c> is not given.</summary>
    public const int DefaultTop = 25;

    /// <summary>The most a page holds.</summary>
    public const int MaxTop = 100;

    /// <summary>The page size parameter.</summary>
    public const string TopParameter = "top";

    /// <summary>The continuation token parameter.</summary>
    public const string TokenParameter = "continuationToken";

    /// <summary>The query parameter a key may travel in, accepted on every route.</summary>
    public const string KeyParameter = "code";

    private const int MaxTokenLength = 4096;

    /// <summary>A token for the page after the one read, bound to <paramref name="scope"/>; <c>null</c> when there is none.</summary>
    public static string? Encode(string? engineToken, string scope) =>
        engineToken is null ? null : Convert.ToBase64String(JsonSerializer.SerializeToUtf8Bytes(new TokenBody(1, scope, engineToken), AgenticJson.Options))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>
    /// The engine's token inside <paramref name="token"/>, or <c>null</c> for none; throws <see cref="InputException"/>
    /// when the token is not one this API issued, or was issued for other filters.
    /// </summary>
    public static string? Decode(string? token, string scope)
    {
        if (token is null)
        {
            return null;
        }
        TokenBody? body = null;
        try
        {
            var base64 = token.Replace('-', '+').Replace('_', '/');
            body = JsonSerializer.Deserialize<TokenBody>(Convert.FromBase64String(base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '=')), AgenticJson.Strict);
        }
        catch (Exception ex) when (ex is FormatException or JsonException)
        {
        }
        if (body is not { V: 1, S: { } issued, E: { Length: > 0 } engine })
        {
            throw new InputException("Invalid continuation token", [new(TokenParameter, "Not a token this API issued: pass the continuationToken of the previous page unchanged.")]);
        }
        return issued == scope
            ? engine
            : throw new InputException("Invalid continuation token", [new(TokenParameter, "The token was issued for other filters: page with the filters of the first page, or start again without a token.")]);
    }

    internal static string Scope(params string?[] parts) =>
        AgenticJson.Digest(string.Join('\n', parts.Select(p => p ?? "\u0000")))[7..23];

    internal static (Dictionary<string, string> Values, List<InputError> Errors) Collect(IEnumerable<KeyValuePair<string, IReadOnlyList<string?>>> parameters, string[] known)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var errors = new List<InputError>();
        foreach (var (key, given) in parameters)
        {
            if (key == KeyParameter)
            {
                continue;
            }
            var name = known.FirstOrDefault(k => string.Equals(k, key, StringComparison.OrdinalIgnoreCase));
            if (name is null)
            {
                errors.Add(new(key, $"Unknown query parameter; this route takes {string.Join(", ", known)}."));
            }
            else if (given.Count != 1)
            {
                errors.Add(new(name, "Give it once."));
            }
            else if (string.IsNullOrWhiteSpace(given[0]))
            {
                errors.Add(new(name, "Empty; leave it out instead."));
            }
            else
            {
                values[name] = given[0]!.Trim();
            }
        }
        return (values, errors);
    }

    internal static string? Name(Dictionary<string, string> values, string name, int max, List<InputError> errors)
    {
        var value = values.GetValueOrDefault(name);
        if (value is { Length: var length } && length > max)
        {
            errors.Add(new(name, $"At most {max} characters."));
            return null;
        }
        return value;
    }

    internal static int Top(Dictionary<string, string> values, List<InputError> errors)
    {
        if (values.GetValueOrDefault(TopParameter) is not { } text)
        {
            return DefaultTop;
        }
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var top) && top is >= 1 and <= MaxTop)
        {
            return top;
        }
        errors.Add(new(TopParameter, $"'{text}' is not a page size: use a whole number from 1 to {MaxTop} (default {DefaultTop})."));
        return DefaultTop;
    }

    internal static string? Token(Dictionary<string, string> values, List<InputError> errors)
    {
        var token = values.GetValueOrDefault(TokenParameter);
        if (token is { Length: > MaxTokenLength })
        {
            errors.Add(new(TokenParameter, "Not a token this API issued: pass the continuationToken of the previous page unchanged."));
            return null;
        }
        return token;
    }

    private sealed record TokenBody(int V, string? S, string? E);
}

/// <summary>One run in the page <c>GET /api/runs</c> answers: who asked what of which agent, and where it stands.</summary>
public sealed record RunSummaryView(
    string Id,
    string Agent,
    string Principal,
    string Target,
    string Status,
    string Phase,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    PendingApprovalView? PendingApproval)
{
    /// <summary>The summary of <paramref name="view"/>.</summary>
    public static RunSummaryView Of(RunView view)
    {
        ArgumentNullException.ThrowIfNull(view);
        return new(view.Id, view.Agent, view.Principal, view.Target, view.Status, view.Phase, view.CreatedAt, view.UpdatedAt, view.PendingApproval);
    }
}

/// <summary>The body of <c>GET /api/runs</c>: a page of runs and, when there may be more, the token of the next page.</summary>
public sealed record RunPageView(IReadOnlyList<RunSummaryView> Runs, string? ContinuationToken, string? NextUri);

/// <summary>
/// One step waiting for approval, as <c>GET /api/approvals</c> lists it for someone who may decide it: the run and its
/// requester, the step's tool and arguments (a summary and their digest, which the approval is bound to), the rule that
/// asked for approval, the role, the deadline, the quorum and who approved so far.
/// </summary>
public sealed record ApprovalView(
    string RunId,
    string Agent,
    string Requester,
    string Target,
    string StepId,
    string Tool,
    string ArgsDigest,
    string? ArgsSummary,
    string? Rule,
    string? Policy,
    string? ApproverRole,
    DateTimeOffset? Deadline,
    int Quorum,
    IReadOnlyList<string> ApprovedBy,
    bool Escalated,
    string ApprovePostUri)
{
    /// <summary>The approval <paramref name="run"/> waits for, or <c>null</c>.</summary>
    public static ApprovalView? Of(RunView run, Func<string, string, string> approveUri)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(approveUri);
        return run.PendingApproval is not { } p
            ? null
            : new(run.Id, run.Agent, run.Principal, run.Target, p.StepId, p.Tool, p.ArgsDigest, p.ArgsSummary, p.Rule, p.Policy, p.ApproverRole, p.Deadline,
                p.Quorum ?? 1, p.ApprovedBy ?? [], p.Escalated == true, approveUri(run.Id, p.StepId));
    }
}

/// <summary>The body of <c>GET /api/approvals</c>.</summary>
public sealed record ApprovalPageView(IReadOnlyList<ApprovalView> Approvals, string? ContinuationToken, string? NextUri);

/// <summary>A short, bounded rendering of a step's arguments for people deciding on it.</summary>
public static class ArgumentSummary
{
    /// <summary>The most characters a summary has.</summary>
    public const int MaxChars = 300;

    /// <summary>The arguments as compact JSON, cut at <see cref="MaxChars"/> characters.</summary>
    public static string Of(JsonElement arguments)
    {
        var compact = arguments.ValueKind == JsonValueKind.Undefined ? "{}" : JsonSerializer.Serialize(arguments);
        if (compact.Length <= MaxChars)
        {
            return compact;
        }
        var length = char.IsHighSurrogate(compact[MaxChars - 2]) ? MaxChars - 2 : MaxChars - 1;
        return new StringBuilder(compact, 0, length, MaxChars).Append('…').ToString();
    }
}
