using Agentic.Core.Activities;
using Agentic.Core.Agents;
using Agentic.Core.Policy;
using Agentic.Core.Runs;
using Agentic.Core.Secrets;
using Agentic.Core.Tools;
using Agentic.Core.Tools.Builtin;
using Agentic.Core.Workflow;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Agentic.Core;

/// <summary>Registers the agent domain: workflow, agents, tools, policy and activities. Both hosts call this.</summary>
public static class AgenticCoreServiceCollectionExtensions
{
    /// <summary>
    /// Adds the workflow, the agent catalog, the tool registry, the baseline policy and the four
    /// activities. Stores (<see cref="Governance.IDecisionStore"/>, <see cref="Governance.IActionLedger"/>)
    /// come from the storage layer.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="policyPath">A YAML policy file (<c>Agentic:Policy:Path</c>); the shipped baseline when absent.</param>
    public static IServiceCollection AddAgenticCore(this IServiceCollection services, string? policyPath = null)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(new AgentWorkflowOptions());
        services.TryAddSingleton(sp => new AgentWorkflow(sp.GetRequiredService<AgentWorkflowOptions>()));
        // The shipped agents, or the directory Agentic:Agents:Path names; checked (tools included) when the host starts.
        // They are the offer as they stand; a host with an agent store offers them with its uploaded agents instead.
        services.TryAddSingleton(sp => AgentCatalog.Load(ConfigurationOf(sp)[AgentOptions.Section + ":" + nameof(AgentOptions.Path)]));
        services.TryAddSingleton<IAgentCatalogProvider>(sp => sp.GetRequiredService<AgentCatalog>());
        services.TryAddSingleton(sp => new AgentChecks(
            sp.GetRequiredService<ToolRegistry>(), sp.GetService<IOptions<Planning.ModelsOptions>>(), sp.GetService<Planning.PromptTemplates>()));
        AddAgentCatalogCheck(services);
        AddMonitors(services);
        services.TryAddSingleton<IPolicyProvider>(_ =>
        {
            // A policy file in shadow mode is evaluated next to the baseline, never instead of it.
            var configured = ShippedPolicies.Load(policyPath);
            return configured.Mode == Policy.Language.PolicyMode.Shadow
                ? new StaticPolicyProvider(ShippedPolicies.Baseline, configured)
                : new StaticPolicyProvider(configured);
        });
        services.TryAddSingleton(sp => new Governance.ControlWatch(sp.GetRequiredService<Governance.IControlStore>(), sp.GetRequiredService<TimeProvider>()));
        AddToolExecution(services);
        // Each layer adds a tool source; the default registry holds them all. A host that registers its own
        // ToolRegistry before this call replaces the lot.
        services.AddAgenticTools("sample", sp => SampleServiceTools.Create(sp.GetRequiredService<RunTargets>(), sp.GetRequiredService<EgressClient>()));
        services.AddAgenticTools("builtin", sp => BuiltinTools.Create(
            sp.GetRequiredService<EgressPolicy>(), sp.GetRequiredService<IOptions<NotifyOptions>>().Value, sp.GetRequiredService<EgressClient>()));
        AddMcp(services);
        services.TryAddSingleton(sp => new ToolRegistry(AgenticToolServiceCollectionExtensions.AllTools(sp)));
        // Perception is an activity of every run, and what a monitor perceives through.
        services.TryAddSingleton<PerceiveActivity>();
        services.AddSingleton<IActivity>(sp => sp.GetRequiredService<PerceiveActivity>());
        services.AddSingleton<IActivity, PlanActivity>();
        services.AddSingleton<IActivity, GateActivity>();
        services.AddSingleton<IActivity, ActActivity>();
        services.AddSingleton<IActivity, ConcludeActivity>();
        services.TryAddSingleton<ApprovalNotifier>();
        services.AddSingleton<IActivity, NotifyActivity>();
        AddAudit(services);
        AddPlanning(services);
        services.TryAddSingleton<ActivityRegistry>();
        return services;
    }

    // Configured MCP servers as a tool source (discovered when the registry is built), and the pin check the gate and the
    // act activity make for their tools. The pins come from the storage layer's IMcpPinStore, asked for only when an MCP
    // tool is checked, so a host without MCP servers needs none.
    private static void AddMcp(IServiceCollection services)
    {
        services.AddOptions<Tools.Mcp.McpOptions>()
            .Configure<IServiceProvider>((o, sp) => ConfigurationOf(sp).GetSection(Tools.Mcp.McpOptions.Section).Bind(o))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<Tools.Mcp.McpOptions>, Tools.Mcp.McpOptionsValidator>());
        services.TryAddSingleton(sp => new Tools.Mcp.McpServers(
            sp.GetRequiredService<IOptions<Tools.Mcp.McpOptions>>().Value, sp.GetRequiredService<ISecretProvider>(), sp.GetRequiredService<EgressPolicy>(),
            sp.GetRequiredService<EgressClient>(), sp.GetService<Microsoft.Extensions.Logging.ILoggerFactory>(), sp.GetService<TimeProvider>()));
        // The registry is built synchronously, once; listing each server is bounded by its connect timeout.
        services.AddAgenticTools("mcp", sp => sp.GetRequiredService<Tools.Mcp.McpServers>().DiscoverAsync(CancellationToken.None).GetAwaiter().GetResult());
        services.TryAddSingleton(sp => new Tools.Mcp.McpGovernance(
            new Lazy<Tools.Mcp.IMcpPinStore>(() => sp.GetService<Tools.Mcp.IMcpPinStore>()
                ?? throw new InvalidOperationException("No MCP pin store is registered: the storage layer registers one.")),
            sp.GetRequiredService<Audit.AuditLog>(), sp.GetRequiredService<TimeProvider>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IToolGuard, Tools.Mcp.McpGovernance>(sp => sp.GetRequiredService<Tools.Mcp.McpGovernance>()));
    }

    // Ahead of every hosted service registered so far, and of the policy bootstrap (which inserts itself before the first
    // hosted service it finds after this one), so a bad agent stops the host before it touches storage.
    private static void AddAgentCatalogCheck(IServiceCollection services)
    {
        if (services.Any(d => d.ServiceType == typeof(IHostedService) && d.ImplementationType == typeof(AgentCatalogCheck)))
        {
            return;
        }
        var check = ServiceDescriptor.Singleton<IHostedService, AgentCatalogCheck>();
        var first = services.Select((d, i) => (d, i)).FirstOrDefault(x => x.d.ServiceType == typeof(IHostedService), (null!, -1)).i;
        if (first < 0)
        {
            services.Add(check);
        }
        else
        {
            services.Insert(first, check);
        }
    }

    // The monitors beside the agents (checked right after them at start) and the scheduler both hosts tick them with; its
    // store comes from the storage layer.
    private static void AddMonitors(IServiceCollection services)
    {
        // Monitors come with the agents beside them: the shipped ones with the shipped agents, a directory's with its agents,
        // none with agents a host built in code.
        services.TryAddSingleton(sp => ConfigurationOf(sp)[AgentOptions.Section + ":" + nameof(AgentOptions.Path)] is { Length: > 0 } path
            ? Monitors.MonitorCatalog.Load(path)
            : ReferenceEquals(sp.GetRequiredService<AgentCatalog>(), AgentCatalog.Default) ? Monitors.MonitorCatalog.Default : new Monitors.MonitorCatalog([]));
        services.AddOptions<Monitors.MonitorOptions>()
            .Configure<IServiceProvider>((o, sp) => ConfigurationOf(sp).GetSection(Monitors.MonitorOptions.Section).Bind(o))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<Monitors.MonitorOptions>, Monitors.MonitorOptionsValidator>());
        services.TryAddSingleton<Monitors.MonitorScheduler>();
        if (services.Any(d => d.ServiceType == typeof(IHostedService) && d.ImplementationType == typeof(Monitors.MonitorCatalogCheck)))
        {
            return;
        }
        var agents = services.Select((d, i) => (d, i)).First(x => x.d.ServiceType == typeof(IHostedService) && x.d.ImplementationType == typeof(AgentCatalogCheck)).i;
        services.Insert(agents + 1, ServiceDescriptor.Singleton<IHostedService, Monitors.MonitorCatalogCheck>());
    }

    // The audit trail over the IAuditStore and ICheckpointStore the storage layer registers.
    private static void AddAudit(IServiceCollection services)
    {
        services.AddOptions<Audit.AuditOptions>()
            .Configure<IServiceProvider>((o, sp) => ConfigurationOf(sp).GetSection(Audit.AuditOptions.Section).Bind(o));
        services.TryAddSingleton<Audit.AuditHeads>();
        services.TryAddSingleton(sp => new Audit.AuditLog(sp.GetRequiredService<Audit.IAuditStore>(), sp.GetRequiredService<Audit.AuditHeads>()));
        services.TryAddSingleton(sp => new Audit.AuditSigner(sp.GetRequiredService<ISecretProvider>(), sp.GetRequiredService<IOptions<Audit.AuditOptions>>().Value));
        services.TryAddSingleton<Audit.AuditCheckpointer>();
        services.TryAddSingleton<Audit.AuditReader>();
        services.AddOptions<RetentionOptions>()
            .Configure<IServiceProvider>((o, sp) => ConfigurationOf(sp).GetSection(RetentionOptions.Section).Bind(o))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RetentionOptions>, RetentionOptionsValidator>());
        services.TryAddSingleton<Audit.AuditRetention>();
    }

    // Language models, prompt templates and the planner that uses them. A model or template that does not load stops
    // the host at start.
    private static void AddPlanning(IServiceCollection services)
    {
        services.AddOptions<Planning.ModelsOptions>()
            .Configure<IServiceProvider>((o, sp) => ConfigurationOf(sp).GetSection(Planning.ModelsOptions.Section).Bind(o.Models))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<Planning.ModelsOptions>, Planning.ModelsOptionsValidator>());
        services.TryAddSingleton<Planning.ChatModels>();
        services.TryAddSingleton(sp => Planning.PromptTemplates.Load(ConfigurationOf(sp)["Agentic:Prompts:Path"]));
        services.TryAddSingleton<Planning.LlmPlanner>();
    }

    // Secrets, the tool executor, and the settings of the built-in tools. Settings come from the host's
    // IConfiguration when it registered one, and are validated when the host starts.
    private static void AddToolExecution(IServiceCollection services)
    {
        services.TryAdd(ServiceDescriptor.Singleton<ISecretProvider, ConfigurationSecretProvider>(sp => new ConfigurationSecretProvider(ConfigurationOf(sp))));
        services.TryAddSingleton(sp => new ToolExecutor(sp.GetRequiredService<ISecretProvider>(), sp.GetRequiredService<TimeProvider>()));
        services.AddOptions<EgressOptions>()
            .Configure<IServiceProvider>((o, sp) => ConfigurationOf(sp).GetSection(EgressOptions.Section).Bind(o))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<EgressOptions>, EgressOptionsValidator>());
        services.AddOptions<NotifyOptions>()
            .Configure<IServiceProvider>((o, sp) => ConfigurationOf(sp).GetSection(NotifyOptions.Section).Bind(o))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<NotifyOptions>, NotifyOptionsValidator>());
        services.TryAddSingleton(sp => new EgressPolicy(sp.GetRequiredService<IOptions<EgressOptions>>().Value));
        services.TryAddSingleton<EgressClient>();
        AddAdmission(services);
    }

    // The deployment's environment (required) and run targets: what a request may ask for, checked at submission by both
    // hosts, and again by perception and every target-bound tool.
    private static void AddAdmission(IServiceCollection services)
    {
        services.AddOptions<DeploymentOptions>()
            .Configure<IServiceProvider>((o, sp) => ConfigurationOf(sp).GetSection(DeploymentOptions.Section).Bind(o))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DeploymentOptions>, DeploymentOptionsValidator>());
        services.AddOptions<TargetOptions>()
            .Configure<IServiceProvider>((o, sp) => ConfigurationOf(sp).GetSection(TargetOptions.Section).Bind(o))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TargetOptions>, TargetOptionsValidator>());
        services.TryAddSingleton(sp => new RunTargets(sp.GetRequiredService<IOptions<TargetOptions>>().Value));
        services.TryAddSingleton(sp => new RunAdmissions(
            sp.GetRequiredService<IAgentCatalogProvider>(), sp.GetRequiredService<IOptions<DeploymentOptions>>().Value.Environment!, sp.GetRequiredService<RunTargets>()));
    }

    private static IConfiguration ConfigurationOf(IServiceProvider services) =>
        services.GetService<IConfiguration>() ?? new ConfigurationBuilder().Build();
}
