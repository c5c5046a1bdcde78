using Microsoft.Extensions.DependencyInjection;

namespace Agentic.Core.Tools;

/// <summary>
/// A named set of tools the default <see cref="ToolRegistry"/> holds. Each layer (the core's sample and built-in tools,
/// the Azure layer's <c>queue.send</c>) adds its own; a host that registers its own <see cref="ToolRegistry"/> first
/// replaces the lot.
/// </summary>
public sealed class ToolSource
{
    private readonly Func<IServiceProvider, IEnumerable<ITool>> _create;

    /// <summary>A source called <paramref name="name"/> whose tools <paramref name="create"/> makes.</summary>
    public ToolSource(string name, Func<IServiceProvider, IEnumerable<ITool>> create)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(create);
        Name = name;
        _create = create;
    }

    /// <summary>The source's name; registering a second source of the same name does nothing.</summary>
    public string Name { get; }

    /// <summary>The source's tools.</summary>
    public IEnumerable<ITool> Create(IServiceProvider services) => _create(services);
}

/// <summary>Registers tool sources.</summary>
public static class AgenticToolServiceCollectionExtensions
{
    /// <summary>
    /// Adds the tools <paramref name="create"/> makes to the default <see cref="ToolRegistry"/>, once per
    /// <paramref name="source"/> name (calling this twice with one name registers the tools once).
    /// </summary>
    public static IServiceCollection AddAgenticTools(this IServiceCollection services, string source, Func<IServiceProvider, IEnumerable<ITool>> create)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (!services.Any(d => d.ServiceType == typeof(ToolSource) && d.ImplementationInstance is ToolSource s && s.Name == source))
        {
            services.AddSingleton(new ToolSource(source, create));
        }
        return services;
    }

    /// <summary>Every tool of every registered <see cref="ToolSource"/>, for the default registry.</summary>
    internal static IEnumerable<ITool> AllTools(IServiceProvider services) =>
        services.GetServices<ToolSource>().SelectMany(s => s.Create(services));
}
