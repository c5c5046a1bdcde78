using Agentic.Azure;
using Agentic.Core;
using Agentic.Core.Agents;
using Agentic.Core.Monitors;
using Agentic.Core.Runs;
using Agentic.Core.Tools;
using Microsoft.Extensions.Options;

namespace Agentic.LocalHost;

/// <summary>
/// `agentic agents check [&lt;directory&gt;] [--settings file]`: loads the agents a host with these settings would offer (the
/// directory given, else <c>Agentic:Agents:Path</c>, else the shipped agents) and checks every tool they list against the
/// tools that host would have, then the monitors beside them (<c>monitors/</c>: their agents, and the targets of those
/// enabled), reporting every diagnostic with file, line and column, as the host does at start.
/// </summary>
internal static class AgentsCommand
{
    public static int Check(string[] args)
    {
        string? directory = null;
        string? settingsPath = null;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--settings" when i + 1 < args.Length:
                    settingsPath = args[++i];
                    break;
                case var value when !value.StartsWith("--", StringComparison.Ordinal) && directory is null:
                    directory = value;
                    break;
                default:
                    return Usage($"unexpected argument '{args[i]}'");
            }
        }

        IConfiguration configuration;
        try
        {
            var (_, settings) = LocalSettings.Load(settingsPath);
            if (directory is not null)
            {
                settings[AgentOptions.Section + ":" + nameof(AgentOptions.Path)] = directory;
            }
            configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).AddEnvironmentVariables().Build();
        }
        catch (Exception ex) when (ex is FileNotFoundException or System.Text.Json.JsonException)
        {
            return Usage(ex.Message);
        }

        // The host's own registrations: the agents and every tool source (the domain's and the storage layer's queue.send).
        using var services = new ServiceCollection().AddSingleton(configuration).AddAgenticCore().AddAgenticAzureStorage(configuration).BuildServiceProvider();
        try
        {
            var agents = services.GetRequiredService<AgentCatalog>();
            var problems = agents.CheckTools(services.GetRequiredService<ToolRegistry>().Descriptors.Select(d => d.Name));
            if (problems.Count > 0)
            {
                throw new AgentLoadException(problems);
            }
            foreach (var agent in agents.Agents)
            {
                Console.WriteLine($"{agent.Name}@{agent.Version} {agent.Hash} ({agent.Source}): {agent.PlannerKind}, {agent.Autonomy}, tools {string.Join(", ", agent.Tools ?? [])}");
            }
            Console.WriteLine($"{agents.Names.Count()} agent(s) load.");
            // The monitors beside them: each names an agent above, and each enabled one a target its agent may have.
            var monitors = services.GetRequiredService<MonitorCatalog>();
            var settings = services.GetRequiredService<IOptions<MonitorOptions>>().Value;
            if (settings.Validate(monitors) is { Count: > 0 } invalid)
            {
                throw new InvalidOperationException(string.Join(" ", invalid));
            }
            var monitorProblems = monitors.Check(agents, services.GetRequiredService<RunTargets>(), settings.IsEnabled);
            if (monitorProblems.Count > 0)
            {
                throw new MonitorLoadException(monitorProblems);
            }
            foreach (var monitor in monitors.Monitors)
            {
                Console.WriteLine($"monitor {monitor.Name} {monitor.Hash} ({monitor.Source}): '{monitor.Schedule}' runs {monitor.Agent} on {monitor.Target}, {(settings.IsEnabled(monitor) ? "on" : "off")}");
            }
            Console.WriteLine($"{monitors.Names.Count()} monitor(s) load.");
            return 0;
        }
        catch (MonitorLoadException ex)
        {
            Console.Error.WriteLine($"agentic: the monitors do not load ({ex.Diagnostics.Count} problem{(ex.Diagnostics.Count == 1 ? "" : "s")}):");
            foreach (var diagnostic in ex.Diagnostics)
            {
                Console.Error.WriteLine("  " + diagnostic);
            }
            return 1;
        }
        catch (AgentLoadException ex)
        {
            Console.Error.WriteLine($"agentic: the agents do not load ({ex.Diagnostics.Count} problem{(ex.Diagnostics.Count == 1 ? "" : "s")}):");
            foreach (var diagnostic in ex.Diagnostics)
            {
                Console.Error.WriteLine("  " + diagnostic);
            }
            return 1;
        }
        catch (Exception ex) when (ex is OptionsValidationException or ArgumentException or InvalidOperationException)
        {
            Console.Error.WriteLine("agentic: the deployment's tools can not be built from these settings: " + ex.Message);
            return 1;
        }
    }

    private static int Usage(string problem)
    {
        Console.Error.WriteLine("agentic: " + problem);
        Console.Error.WriteLine("usage: agentic agents check [<directory>] [--settings local.settings.json]");
        return 2;
    }
}
