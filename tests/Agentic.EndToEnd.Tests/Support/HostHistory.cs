using Agentic.Testing;

namespace Agentic.EndToEnd.Tests.Support;

/// <summary>
/// Keeps the output of every incarnation of a host that is killed and restarted, so a failure can show what
/// each process did with the runs that went wrong (the host object only holds its latest process).
/// </summary>
public sealed class HostHistory(AgenticHost host)
{
    private readonly List<(int Incarnation, IReadOnlyList<string> Lines)> _past = [];

    /// <summary>Call just before restarting the host: keeps the output of the process that just died.</summary>
    public void Keep()
    {
        if (host.Process is { } process)
        {
            _past.Add((host.Starts, process.Lines));
        }
    }

    /// <summary>
    /// Every line any incarnation printed that mentions one of <paramref name="ids"/>, and every error it logged,
    /// prefixed by the incarnation.
    /// </summary>
    public string Mentioning(IEnumerable<string> ids)
    {
        var wanted = ids.ToList();
        var all = _past.Append((host.Starts, host.Process?.Lines ?? []));
        return string.Join('\n', all.SelectMany(p => p.Item2
            .Where(l => l.Contains(" fail: ", StringComparison.Ordinal) || l.Contains(" crit: ", StringComparison.Ordinal) || wanted.Any(id => l.Contains(id, StringComparison.Ordinal)))
            .Select(l => $"#{p.Item1} {l}")));
    }
}
