namespace Agentic.LocalHost;

/// <summary>The `--name value` arguments (and value-less flags) of the host's commands.</summary>
internal static class CommandArguments
{
    /// <summary>
    /// Reads <paramref name="args"/> as pairs of the <paramref name="known"/> options and their values, plus any of the
    /// <paramref name="flags"/>; what is wrong with them in one sentence, or <c>null</c>.
    /// </summary>
    public static string? Parse(string[] args, IReadOnlyCollection<string> known, IReadOnlyCollection<string> flags, out Dictionary<string, string> values, out HashSet<string> flagsGiven)
    {
        values = new Dictionary<string, string>(StringComparer.Ordinal);
        flagsGiven = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            if (flags.Contains(args[i], StringComparer.Ordinal))
            {
                flagsGiven.Add(args[i]);
                continue;
            }
            if (!known.Contains(args[i], StringComparer.Ordinal))
            {
                return $"Unexpected argument '{args[i]}'.";
            }
            if (i + 1 >= args.Length)
            {
                return $"{args[i]} needs a value.";
            }
            if (!values.TryAdd(args[i], args[++i]))
            {
                return $"{args[i - 1]} is given twice.";
            }
        }
        return null;
    }
}
