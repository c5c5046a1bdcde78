namespace Agentic.Core.Policy.Language;

/// <summary>One problem found while loading a policy, a policy test file or an agent, with where it is: 1-based line and column.</summary>
public sealed record Diagnostic(string File, int Line, int Column, string Code, string Message)
{
    /// <summary>The message of a load failure of <paramref name="what"/> ("The policy", "The agents") with these diagnostics.</summary>
    internal static string Describe(string what, IReadOnlyList<Diagnostic> diagnostics)
    {
        ArgumentNullException.ThrowIfNull(diagnostics);
        return diagnostics.Count switch
        {
            0 => $"{what} failed to load.",
            1 => $"{what} failed to load: " + diagnostics[0],
            _ => $"{what} failed to load with {diagnostics.Count} problems:" + Environment.NewLine + string.Join(Environment.NewLine, diagnostics),
        };
    }

    /// <summary>The compiler-style form: <c>file(line,column): code: message</c>.</summary>
    public override string ToString() => $"{File}({Line},{Column}): {Code}: {Message}";
}

/// <summary>The stable codes of <see cref="Diagnostic"/>; tools may match on them, so they never change meaning.</summary>
public static class DiagnosticCodes
{
    /// <summary>The text is not valid YAML.</summary>
    public const string InvalidYaml = "invalid-yaml";
    /// <summary>The YAML is valid but is not a policy (or test) document: empty, several documents, not a mapping.</summary>
    public const string InvalidDocument = "invalid-document";
    /// <summary>A mapping names the same key twice.</summary>
    public const string DuplicateKey = "duplicate-key";
    /// <summary>A required key is absent.</summary>
    public const string MissingKey = "missing-key";
    /// <summary>A key the format does not define.</summary>
    public const string UnknownKey = "unknown-key";
    /// <summary>A value of the wrong shape (a list where a string belongs, a bad id, a bad mode, ...).</summary>
    public const string InvalidValue = "invalid-value";
    /// <summary>An effect other than permit, forbid or require_approval.</summary>
    public const string InvalidEffect = "invalid-effect";
    /// <summary>A require_approval rule without an approver role.</summary>
    public const string MissingApproval = "missing-approval";
    /// <summary>A timeout that is not a positive duration such as <c>30m</c>.</summary>
    public const string InvalidDuration = "invalid-duration";
    /// <summary>An approval timeout outcome other than reject or escalate (a timeout never permits).</summary>
    public const string InvalidOnTimeout = "invalid-on-timeout";
    /// <summary>Two rules share an id.</summary>
    public const string DuplicateRuleId = "duplicate-rule-id";
    /// <summary>A condition that does not parse.</summary>
    public const string SyntaxError = "syntax-error";
    /// <summary>A condition names an attribute the request does not have.</summary>
    public const string UnknownAttribute = "unknown-attribute";
    /// <summary>A condition compares or combines values of incompatible types.</summary>
    public const string TypeMismatch = "type-mismatch";
    /// <summary>A condition compares an attribute with a value it can never take (in a rule that can still match otherwise).</summary>
    public const string UnknownValue = "unknown-value";
    /// <summary>A rule whose condition can never hold.</summary>
    public const string UnreachableRule = "unreachable-rule";
    /// <summary>A rule that can never decide because an earlier forbid matches whenever it does.</summary>
    public const string ShadowedRule = "shadowed-rule";
    /// <summary>A file (or an agents directory) that does not exist.</summary>
    public const string FileNotFound = "file-not-found";
    /// <summary>An agent autonomy other than observe, suggest, supervised or autonomous.</summary>
    public const string InvalidAutonomy = "invalid-autonomy";
    /// <summary>An agent names a tool the deployment does not have.</summary>
    public const string UnknownTool = "unknown-tool";
    /// <summary>A playbook step calls a tool that is not among its agent's tools.</summary>
    public const string UndeclaredTool = "undeclared-tool";
    /// <summary>Two agents share a name.</summary>
    public const string DuplicateAgent = "duplicate-agent";
    /// <summary>Two signals of one agent share a name.</summary>
    public const string DuplicateSignal = "duplicate-signal";
    /// <summary>A signal's data contract is not a JSON Schema the product can use.</summary>
    public const string InvalidSchema = "invalid-schema";
    /// <summary>Two monitors share a name.</summary>
    public const string DuplicateMonitor = "duplicate-monitor";
    /// <summary>A monitor's schedule is not a six-field NCRONTAB expression.</summary>
    public const string InvalidSchedule = "invalid-schedule";
    /// <summary>A monitor names an agent the deployment does not have.</summary>
    public const string UnknownAgent = "unknown-agent";
    /// <summary>An enabled monitor's target is not a run target its agent may have.</summary>
    public const string TargetNotAllowed = "target-not-allowed";
}

/// <summary>A policy failed to load; <see cref="Diagnostics"/> lists every problem found, in file order.</summary>
public sealed class PolicyLoadException : Exception
{
    /// <summary>A load failure with its diagnostics (at least one).</summary>
    public PolicyLoadException(IReadOnlyList<Diagnostic> diagnostics)
        : base(Describe(diagnostics))
    {
        Diagnostics = diagnostics;
    }

    /// <summary>Every problem found, in the order of the file.</summary>
    public IReadOnlyList<Diagnostic> Diagnostics { get; }

    private static string Describe(IReadOnlyList<Diagnostic> diagnostics) => Diagnostic.Describe("The policy", diagnostics);
}
