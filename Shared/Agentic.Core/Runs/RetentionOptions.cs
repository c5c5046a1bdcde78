using Microsoft.Extensions.Options;

namespace Agentic.Core.Runs;

/// <summary>
/// How long ended runs and audit chains are kept. Configuration:
/// <code>
/// "Agentic": { "Retention": { "RunDays": 30, "AuditDays": 2555, "SweepMinutes": 60, "SweepLimit": 500 } }
/// </code>
/// Run state (the engine's instance and history, the run's decisions, approvals and ledger rows) of a run that ended
/// more than <see cref="RunDays"/> ago is purged by a sweep; the run's audit chain stays. Audit chains are purged only
/// by an admin, and only those older than <see cref="AuditDays"/>, which may not be shorter than <see cref="RunDays"/>.
/// </summary>
public sealed class RetentionOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Agentic:Retention";

    /// <summary>Days an ended run's state is kept (and so how long a repeated submission of its key finds it).</summary>
    public int RunDays { get; set; } = 30;

    /// <summary>Days an audit chain is kept at least; an audit purge refuses anything younger.</summary>
    public int AuditDays { get; set; } = 2555;

    /// <summary>Minutes between run-state sweeps on the local host (the Functions app sweeps hourly on a timer).</summary>
    public int SweepMinutes { get; set; } = 60;

    /// <summary>Most runs one sweep purges; the rest wait for the next sweep.</summary>
    public int SweepLimit { get; set; } = 500;

    /// <summary>Every problem with the options, each naming its setting; empty when they are valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (RunDays is < 1 or > 36_500)
        {
            problems.Add($"{Section}:RunDays must be from 1 to 36500 days; it is {RunDays}.");
        }
        if (AuditDays < RunDays || AuditDays > 36_500)
        {
            problems.Add($"{Section}:AuditDays must be at least RunDays ({RunDays}) and at most 36500 days; it is {AuditDays}: audit outlives the runs it proves.");
        }
        if (SweepMinutes is < 1 or > 10_080)
        {
            problems.Add($"{Section}:SweepMinutes must be from 1 to 10080; it is {SweepMinutes}.");
        }
        if (SweepLimit is < 1 or > 100_000)
        {
            problems.Add($"{Section}:SweepLimit must be from 1 to 100000; it is {SweepLimit}.");
        }
        return problems;
    }
}

/// <summary>Validates <see cref="RetentionOptions"/> when the host starts.</summary>
internal sealed class RetentionOptionsValidator : IValidateOptions<RetentionOptions>
{
    public ValidateOptionsResult Validate(string? name, RetentionOptions options) =>
        options.Validate() is { Count: > 0 } problems ? ValidateOptionsResult.Fail(problems) : ValidateOptionsResult.Success;
}
