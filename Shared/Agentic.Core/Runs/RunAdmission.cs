using Agentic.Core.Agents;
using Microsoft.Extensions.Options;

namespace Agentic.Core.Runs;

/// <summary>
/// The deployment itself. Configuration (environment: <c>Agentic__Environment</c>):
/// <code>
/// "Agentic": { "Environment": "prod" }
/// </code>
/// Required: a host without it refuses to start, naming the setting.
/// </summary>
public sealed class DeploymentOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Agentic";

    /// <summary>The environments a deployment can be.</summary>
    public static readonly IReadOnlyList<string> Environments = ["dev", "test", "staging", "prod"];

    /// <summary>
    /// The deployment's environment (<c>dev</c>, <c>test</c>, <c>staging</c>, <c>prod</c>): every run here runs in it,
    /// whatever a request says, and policies see it as <c>context.environment</c>.
    /// </summary>
    public string? Environment { get; set; }

    /// <summary>Throws unless <paramref name="environment"/> is one of <see cref="Environments"/>.</summary>
    public static void ThrowIfUnknown(string environment, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(environment))] string? parameter = null)
    {
        if (!Environments.Contains(environment, StringComparer.Ordinal))
        {
            throw new ArgumentException($"'{environment}' is not one of {string.Join(", ", Environments)}.", parameter);
        }
    }

    /// <summary>Every problem with the options, each naming its setting; empty when they are valid.</summary>
    public IReadOnlyList<string> Validate() => Environment switch
    {
        null or "" => [$"{Section}:Environment is required: the deployment's environment, one of {string.Join(", ", Environments)} (Agentic__Environment)."],
        var e when !Environments.Contains(e, StringComparer.Ordinal) => [$"{Section}:Environment: '{e}' is not one of {string.Join(", ", Environments)}."],
        _ => [],
    };
}

/// <summary>Validates <see cref="DeploymentOptions"/> when the host starts.</summary>
internal sealed class DeploymentOptionsValidator : IValidateOptions<DeploymentOptions>
{
    public ValidateOptionsResult Validate(string? name, DeploymentOptions options) =>
        options.Validate() is { Count: > 0 } problems ? ValidateOptionsResult.Fail(problems) : ValidateOptionsResult.Success;
}

/// <summary>
/// What a deployment admits as a run: its agents, its environment (never the caller's) and the targets runs may have.
/// Both hosts parse every request (HTTP and the <c>agent-runs</c> queue) against it with <see cref="RunRequestParser"/>.
/// </summary>
public sealed class RunAdmission
{
    /// <summary>Admission for <paramref name="agents"/> in <paramref name="environment"/> against <paramref name="targets"/>.</summary>
    public RunAdmission(AgentCatalog agents, string environment, RunTargets targets)
    {
        ArgumentNullException.ThrowIfNull(agents);
        ArgumentNullException.ThrowIfNull(targets);
        DeploymentOptions.ThrowIfUnknown(environment);
        Agents = agents;
        Environment = environment;
        Targets = targets;
    }

    /// <summary>The agents runs may use.</summary>
    public AgentCatalog Agents { get; }

    /// <summary>The deployment's environment.</summary>
    public string Environment { get; }

    /// <summary>The targets runs may have.</summary>
    public RunTargets Targets { get; }
}

/// <summary>
/// What the deployment admits now: a <see cref="RunAdmission"/> over the agents offered at the time of the call
/// (<see cref="IAgentCatalogProvider"/>), so every request is parsed against one consistent catalog, including the
/// target narrowing of the agent version it names.
/// </summary>
public sealed class RunAdmissions
{
    private readonly IAgentCatalogProvider _agents;
    private readonly string _environment;
    private readonly RunTargets _targets;
    private RunAdmission? _last;

    /// <summary>Admissions of the agents <paramref name="agents"/> offers, in <paramref name="environment"/>, against <paramref name="targets"/>.</summary>
    public RunAdmissions(IAgentCatalogProvider agents, string environment, RunTargets targets)
    {
        ArgumentNullException.ThrowIfNull(agents);
        ArgumentNullException.ThrowIfNull(targets);
        DeploymentOptions.ThrowIfUnknown(environment);
        _agents = agents;
        _environment = environment;
        _targets = targets;
    }

    /// <summary>The deployment's environment.</summary>
    public string Environment => _environment;

    /// <summary>Admission against the agents offered now.</summary>
    /// <exception cref="AgentCatalogUnavailableException">The offer can not be known.</exception>
    public async ValueTask<RunAdmission> CurrentAsync(CancellationToken cancellationToken)
    {
        var catalog = await _agents.GetAsync(cancellationToken);
        var last = Volatile.Read(ref _last);
        if (last is not null && ReferenceEquals(last.Agents, catalog))
        {
            return last;
        }
        var admission = new RunAdmission(catalog, _environment, _targets);
        Volatile.Write(ref _last, admission);
        return admission;
    }
}
