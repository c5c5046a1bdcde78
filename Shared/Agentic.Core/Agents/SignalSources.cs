namespace Agentic.Core.Agents;

/// <summary>
/// Where an agent's observations come from. Each kind has its own settings; the perceive activity reads the agent's
/// source to observe the run's target.
/// </summary>
public abstract record SignalSource
{
    /// <summary>The kind's name as agent YAML writes it (<c>http-probe</c>).</summary>
    public abstract string Kind { get; }
}

/// <summary>
/// An HTTP GET of <see cref="Path"/> under the run's target, through the run target rules and the egress client. A 2xx
/// answer whose JSON <c>status</c> is <c>ok</c> or <c>healthy</c> (or a 2xx without a status) is healthy; anything else,
/// an unreachable target included, is an unhealthy observation.
/// </summary>
/// <param name="Path">The route under the target, without a leading '/': <c>health</c>, <c>api/status</c>.</param>
/// <param name="Timeout">How long the probe may take.</param>
public sealed record HttpProbeSource(string Path, TimeSpan Timeout) : SignalSource
{
    /// <summary>The kind's name.</summary>
    public const string KindName = "http-probe";

    /// <summary>The probe of <c>{target}/health</c> within 10 seconds: the source of an agent that names none.</summary>
    public static HttpProbeSource Health { get; } = new("health", TimeSpan.FromSeconds(10));

    /// <summary>The longest timeout a probe may have.</summary>
    public static TimeSpan MaxTimeout { get; } = TimeSpan.FromSeconds(60);

    /// <inheritdoc />
    public override string Kind => KindName;

    /// <summary>Whether <paramref name="path"/> is a route a probe may take: segments of letters, digits, '-', '.', '_' and '~', no '.' or '..' segment.</summary>
    public static bool IsRoute(string path) =>
        path.Length is > 0 and <= 256
        && path.Split('/').All(segment => segment.Length > 0 && segment is not ("." or "..")
            && segment.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~'));
}
