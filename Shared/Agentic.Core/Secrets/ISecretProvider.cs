using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace Agentic.Core.Secrets;

/// <summary>
/// Where the values of the secrets tools declare (<see cref="Tools.ToolDescriptor.Secrets"/>) come from. The tool
/// executor asks for exactly the names a tool declared, at call time, and hands the values to that call only.
/// </summary>
public interface ISecretProvider
{
    /// <summary>
    /// The value of the secret <paramref name="name"/>, or <c>null</c> when there is no such secret. Throws when the
    /// store can not answer (a failure trying again may fix). <paramref name="name"/> must satisfy <see cref="SecretName"/>.
    /// </summary>
    Task<string?> GetAsync(string name, CancellationToken cancellationToken);
}

/// <summary>
/// Secret names: 1 to 127 of <c>A-Z a-z 0-9 -</c>, the names Key Vault accepts, so one name works with every provider
/// and can never address a configuration path or a URL segment of its own choosing.
/// </summary>
public static partial class SecretName
{
    /// <summary>Whether <paramref name="name"/> is a valid secret name.</summary>
    public static bool IsValid([NotNullWhen(true)] string? name) => name is not null && Pattern().IsMatch(name);

    /// <summary>Throws <see cref="ArgumentException"/> when <paramref name="name"/> is not a valid secret name.</summary>
    public static void Validate([NotNull] string? name, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(name))] string? parameter = null)
    {
        ArgumentNullException.ThrowIfNull(name, parameter);
        if (!IsValid(name))
        {
            throw new ArgumentException($"'{name}' is not a valid secret name: use 1 to 127 letters, digits or '-'.", parameter);
        }
    }

    [GeneratedRegex("^[A-Za-z0-9-]{1,127}$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
