using Microsoft.Extensions.DependencyInjection;

namespace Agentic.Durable;

/// <summary>Registers the workflow's pieces on the engine, for either host.</summary>
public static class AgenticDurableServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="AgentRunOrchestrator"/> and <see cref="AgentActivityRunner"/>. The agent domain
    /// (<c>AddAgenticCore</c>) and the stores must be registered too; <see cref="AgentRunClient"/> needs the host's
    /// <c>DurableTaskClient</c>, so the host builds it.
    /// </summary>
    public static IServiceCollection AddAgenticWorkflow(this IServiceCollection services)
    {
        services.AddSingleton<AgentRunOrchestrator>();
        services.AddSingleton<AgentActivityRunner>();
        services.AddSingleton<RunRetention>();
        return services;
    }
}
