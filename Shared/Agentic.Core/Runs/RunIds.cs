using System.Security.Cryptography;
using System.Text;

namespace Agentic.Core.Runs;

/// <summary>Run ids, the same in both hosts.</summary>
public static class RunIds
{
    /// <summary>
    /// The id of the run <paramref name="request"/> starts. With an idempotency key it is derived from the key, the agent
    /// and the requester's normalized principal id (<see cref="PrincipalIds"/>), so a repeated submission finds the first
    /// run, and one principal's key can never name another principal's run; without one it is random. Either way it is
    /// not guessable from outside.
    /// WARNING: changing the derivation makes a repeated submission of an in-flight request start a second run.
    /// </summary>
    public static string For(RunRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return request.IdempotencyKey is { } key
            ? "run-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{PrincipalIds.Normalize(request.Principal)}\n{request.Agent}\n{key}")))[..32]
            : "run-" + Guid.NewGuid().ToString("N");
    }

    /// <summary>Whether <paramref name="id"/> has the shape of a run id (<c>run-</c> and 32 lowercase hex digits).</summary>
    public static bool IsWellFormed(string? id) =>
        id is { Length: 36 } && id.StartsWith("run-", StringComparison.Ordinal) && id.AsSpan(4).IndexOfAnyExcept(LowerHex) < 0;

    private static readonly System.Buffers.SearchValues<char> LowerHex = System.Buffers.SearchValues.Create("0123456789abcdef");
}
