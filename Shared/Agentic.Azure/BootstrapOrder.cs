using Agentic.Core.Agents;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Agentic.Azure;

/// <summary>Where the store bootstraps (policies, agents) go among a host's hosted services, which start in registration order.</summary>
internal static class BootstrapOrder
{
    /// <summary>
    /// Inserts <paramref name="bootstrap"/> after the agent check (a bad agent stops the host before it waits for
    /// storage) and before every other hosted service registered so far.
    /// </summary>
    public static void InsertAfterAgentCheck(IServiceCollection services, ServiceDescriptor bootstrap)
    {
        var first = services.Select((d, i) => (d, i))
            .FirstOrDefault(x => x.d.ServiceType == typeof(IHostedService) && x.d.ImplementationType != typeof(AgentCatalogCheck), (null!, -1)).i;
        if (first < 0)
        {
            services.Add(bootstrap);
        }
        else
        {
            services.Insert(first, bootstrap);
        }
    }
}
