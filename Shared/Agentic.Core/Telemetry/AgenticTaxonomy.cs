using Microsoft.Extensions.Compliance.Classification;

namespace Agentic.Core.Telemetry;

/// <summary>
/// The data classes the product's logs name. A <c>[LoggerMessage]</c> parameter that can carry such data is marked with
/// the class's attribute, and the redactor registered for the class (<see cref="TelemetryServiceCollectionExtensions.AddAgenticTelemetry"/>)
/// rewrites its value before any log provider sees it.
/// </summary>
public static class AgenticTaxonomy
{
    /// <summary>The taxonomy's name.</summary>
    public const string Name = "Agentic";

    /// <summary>
    /// Text from outside this code that may quote a credential: an exception's or a service's message, a reason a
    /// store or a caller gave. Its secret values, in every spelling, are taken out (<see cref="SecretLogRedactor"/>).
    /// </summary>
    public static DataClassification Secret { get; } = new(Name, nameof(Secret));
}

/// <summary>The parameter may quote a secret value; see <see cref="AgenticTaxonomy.Secret"/>.</summary>
[AttributeUsage(AttributeTargets.Parameter | AttributeTargets.Property | AttributeTargets.Field | AttributeTargets.ReturnValue)]
public sealed class SecretDataAttribute : DataClassificationAttribute
{
    /// <summary>Marks a value of class <see cref="AgenticTaxonomy.Secret"/>.</summary>
    public SecretDataAttribute()
        : base(AgenticTaxonomy.Secret)
    {
    }
}
