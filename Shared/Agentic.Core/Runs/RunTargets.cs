using System.Globalization;
using System.Net;
using Agentic.Core.Agents;
using Agentic.Core.Tools.Builtin;
using Microsoft.Extensions.Options;

namespace Agentic.Core.Runs;

/// <summary>
/// The hosts a run may target, with the rule shape of the egress rules (scheme, host, port, paths, private addresses).
/// Configuration (environment: <c>Agentic__Targets__Allow__0__Host</c> and so on):
/// <code>
/// "Agentic": { "Targets": { "Allow": [
///   { "Scheme": "https", "Host": "*.svc.example.com", "Port": 443, "Paths": ["/services/**"], "AllowPrivate": false } ] } }
/// </code>
/// None: no run can be submitted.
/// </summary>
public sealed class TargetOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Agentic:Targets";

    /// <summary>The rules; a run's target must match one of them (scheme, host, port and path).</summary>
    public IList<EndpointRule> Allow { get; } = [];

    /// <summary>Every problem with the rules, each naming its setting; empty when they are valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        for (var i = 0; i < Allow.Count; i++)
        {
            Allow[i].Validate(string.Create(CultureInfo.InvariantCulture, $"{Section}:Allow:{i}"), problems);
        }
        return problems;
    }
}

/// <summary>A target a run may reach, and whether it may resolve to a private address.</summary>
/// <param name="Uri">The target.</param>
/// <param name="AllowPrivate">Whether the rules that allowed it allow loopback and private addresses.</param>
public sealed record TargetGrant(Uri Uri, bool AllowPrivate)
{
    /// <summary>
    /// The target's URL for <paramref name="route"/> (a relative path such as <c>health</c>): appended to the target's
    /// path as a segment, never able to add a query or leave the target.
    /// </summary>
    public Uri Route(string route)
    {
        ArgumentException.ThrowIfNullOrEmpty(route);
        var builder = new UriBuilder(Uri) { Path = Uri.AbsolutePath.TrimEnd('/') + "/" + route.TrimStart('/') };
        return builder.Uri;
    }
}

/// <summary>
/// The compiled run target rules (<see cref="TargetOptions"/>), narrowed per call by the agent the run uses
/// (<see cref="AgentDefinition.Targets"/>). Submission checks a target here with the agent offered now, and so does every
/// call to it (perception and target-bound tools) with the agent version the run was admitted with, before the egress
/// client checks the addresses it resolves to.
/// </summary>
public sealed class RunTargets
{
    private readonly IReadOnlyList<Endpoint> _rules;

    // An agent's narrowing, compiled once per definition's list of rules (definitions are immutable and shared by the
    // catalog snapshots that hold them).
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<IReadOnlyList<EndpointRule>, IReadOnlyList<Endpoint>> _narrowed = [];

    /// <summary>Compiles <paramref name="options"/>.</summary>
    public RunTargets(TargetOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = options.Validate();
        if (problems.Count > 0)
        {
            throw new ArgumentException("The run target rules are not valid: " + string.Join(" ", problems), nameof(options));
        }
        _rules = [.. options.Allow.Select(r => new Endpoint(r))];
    }

    /// <summary>
    /// Whether a run of <paramref name="agent"/> may target <paramref name="target"/>: the grant, or <c>null</c> with the
    /// reason naming the rule set that refused it. <c>null</c> agent: the deployment's rules alone. Names are not
    /// resolved here; an IP literal is judged as an address.
    /// </summary>
    public TargetGrant? Check(string target, AgentDefinition? agent, out string reason) =>
        Check(target, agent?.Name, agent?.Targets, out reason);

    /// <summary>
    /// Whether a run of agent <paramref name="agent"/>, whose own rules are <paramref name="narrowing"/> (<c>null</c>: none),
    /// may target <paramref name="target"/>: the grant, or <c>null</c> with the reason naming the rule set that refused it.
    /// </summary>
    public TargetGrant? Check(string target, string? agent, IReadOnlyList<EndpointRule>? narrowing, out string reason)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (!Uri.TryCreate(target, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            reason = "it is not an absolute http or https URI";
            return null;
        }
        if (uri.Query.Length > 0 || uri.Fragment.Length > 0 || target.Contains('?', StringComparison.Ordinal) || target.Contains('#', StringComparison.Ordinal))
        {
            // Routes are appended to the target's path; a query would turn them into parameters of another resource.
            reason = "a target has no query string or fragment";
            return null;
        }
        if (Endpoint.Problem(uri) is { } problem)
        {
            reason = problem;
            return null;
        }
        var origin = Endpoint.Origin(uri);
        var path = uri.AbsolutePath;
        var onOrigin = _rules.Where(r => r.MatchesOrigin(uri)).ToList();
        if (onOrigin.Count == 0)
        {
            reason = $"no rule of {TargetOptions.Section}:Allow allows {origin}";
            return null;
        }
        var matching = onOrigin.Where(r => r.MatchesPath(path)).ToList();
        if (matching.Count == 0)
        {
            reason = $"no rule of {TargetOptions.Section}:Allow allows the path '{path}' on {origin} (allowed: {string.Join(", ", onOrigin.SelectMany(r => r.Globs).Distinct())})";
            return null;
        }
        var allowPrivate = matching.Any(r => r.AllowPrivate);
        if (narrowing is not null)
        {
            var narrowed = _narrowed.GetValue(narrowing, rules => [.. rules.Select(r => new Endpoint(r))]).Where(r => r.Matches(uri)).ToList();
            if (narrowed.Count == 0)
            {
                reason = $"no rule of agent '{agent}''s targets allows {origin}{path}";
                return null;
            }
            // An agent narrows what the deployment allows, never widens it.
            allowPrivate &= narrowed.Any(r => r.AllowPrivate);
        }
        if (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var literal))
        {
            if (EgressAddresses.IsMetadata(literal))
            {
                reason = $"{literal} is a cloud metadata address, which is never allowed";
                return null;
            }
            if (EgressAddresses.Classify(literal) is { } kind && !allowPrivate)
            {
                reason = $"{literal} is a {kind} address, and no rule allows private addresses for it";
                return null;
            }
        }
        reason = "";
        return new TargetGrant(uri, allowPrivate);
    }
}

/// <summary>Validates <see cref="TargetOptions"/> when the host starts.</summary>
internal sealed class TargetOptionsValidator : IValidateOptions<TargetOptions>
{
    public ValidateOptionsResult Validate(string? name, TargetOptions options) =>
        options.Validate() is { Count: > 0 } problems ? ValidateOptionsResult.Fail(problems) : ValidateOptionsResult.Success;
}
