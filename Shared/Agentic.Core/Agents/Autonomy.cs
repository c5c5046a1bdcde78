namespace Agentic.Core.Agents;

/// <summary>
/// How far an agent may act on its own, from least to most: <c>observe</c> (plans, never acts), <c>suggest</c>
/// (every action needs approval), <c>supervised</c> (the policy decides; high-risk changes need approval even where
/// the policy permits them) and <c>autonomous</c> (the policy alone decides). No level weakens a forbid.
/// </summary>
public static class Autonomy
{
    /// <summary>Plans, never acts.</summary>
    public const string Observe = "observe";

    /// <summary>Every action needs approval.</summary>
    public const string Suggest = "suggest";

    /// <summary>The policy decides; high-risk changes need approval.</summary>
    public const string Supervised = "supervised";

    /// <summary>The policy decides.</summary>
    public const string Autonomous = "autonomous";

    /// <summary>The levels, least autonomy first.</summary>
    public static IReadOnlyList<string> Levels { get; } = [Observe, Suggest, Supervised, Autonomous];

    /// <summary>Whether <paramref name="level"/> is a known level.</summary>
    public static bool IsKnown(string? level) => level is not null && Rank(level) >= 0;

    /// <summary>The position of <paramref name="level"/> in <see cref="Levels"/>, or -1.</summary>
    public static int Rank(string level) => level switch
    {
        Observe => 0,
        Suggest => 1,
        Supervised => 2,
        Autonomous => 3,
        _ => -1,
    };

    /// <summary>The lesser of two known levels.</summary>
    public static string Min(string a, string b) => Rank(a) <= Rank(b) ? a : b;
}
