using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Agentic.Core.Json;
using Agentic.Core.Policy.Language;
using Agentic.Core.Tools.Builtin;
using Agentic.Core.Workflow;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Agentic.Core.Agents;

/// <summary>
/// Loads agent YAML documents (one agent per file, <c>agents/*.yaml</c>): reads and checks every field, compiles the
/// playbook's predicates with the policy language's parser, checker and compiler over the playbook's attributes, and
/// checks every binding. Any problem fails the load with every diagnostic found (file, line, column, code, message).
/// </summary>
/// <remarks>
/// <code>
/// name: service-healer                # required: letters, digits, '.', '_', '-'
/// version: "1"                        # required; plans name it, with the SHA-256 of this file
/// description: ...                    # required
/// autonomy: supervised                # observe | suggest | supervised | autonomous; default supervised
/// planner: playbook                   # playbook (default) or llm
/// llm:                                # with planner: llm (and then no playbook)
///   model: default                    # a model configured under Agentic:Models
///   prompt: task-planner              # a prompt template (prompts/task-planner.md)
///   trust: [request.goal]             # optional: request parts read as trusted where no signal reads them
///   replan: after-each-action         # optional: none (default, one plan) or after-each-action (needs guards.maxPlans >= 2)
/// signals:                            # default: one http-probe of 'health'; the first is the primary signal
///   - kind: http-probe
///     path: health                    # the route under the run's target
///     timeout: 10s                    # at most 60s
///     extract: { depth: $.queue.depth }   # values of the JSON answer, by JSON path
///   - kind: queue-depth               # approximate messages in a queue of the deployment's storage account
///     name: backlog                   # every kind: a name (default: the kind), a data contract, trust
///     queue: agent-runs
///     schema: schemas/backlog.schema.json   # a JSON Schema, relative to this file's directory
///     trusted: true                   # default false: an llm planner's plan is tainted by it
///   - kind: table-count               # rows of a table of the deployment's storage account, counted up to max
///     table: incidents
///     filter: "Status eq 'open'"
///     max: 1000
///   - kind: request                   # the run request's own payload: goal, parameters, parameters.x
///     path: parameters.document
/// tools: [sample.diagnostics, sample.restart]   # required: the tools the agent may propose
/// targets:                            # optional: narrows Agentic:Targets:Allow
///   - { scheme: http, host: svc.internal, port: 8080, paths: ['/**'], allowPrivate: true }
/// guards: { maxSteps: 5, maxToolCalls: 10, budget: 20, maxIdenticalCalls: 2, maxPlans: 3, deadline: 30m }
/// playbook:
///   parameters:
///     probes: { type: integer, default: 3, min: 1, max: 50 }
///   rules:                            # the first rule whose 'when' holds makes the plan
///     - when: observation.healthy
///       rationale: The target is ${observation.status}; no action needed.
///     - rationale: Diagnose, then restart.
///       expectHealthy: true
///       steps:
///         - tool: sample.diagnostics
///           repeat: parameters.probes
///           args: { probe: "${repeat.index}" }
///           rationale: Sample ${repeat.index} of ${repeat.count}.
/// </code>
/// </remarks>
public static partial class AgentLoader
{
    /// <summary>The planner this release has.</summary>
    public const string PlaybookPlanner = "playbook";

    /// <summary>The language model planner (<see cref="Planning.LlmPlanner"/>), configured by the agent's <c>llm</c> section.</summary>
    public const string LlmPlanner = "llm";

    /// <summary>The most times a step may repeat.</summary>
    public const int MaxRepeat = 100;

    /// <summary>The most values one probe may extract.</summary>
    public const int MaxExtracts = 32;

    /// <summary>The request's goal as a language model planner's data source (<c>llm.trust</c>).</summary>
    public const string RequestGoal = "request.goal";

    /// <summary>The request's parameters as a language model planner's data source (<c>llm.trust</c>).</summary>
    public const string RequestParameters = "request.parameters";

    private static readonly string[] AgentKeys = ["name", "version", "description", "autonomy", "planner", "signals", "tools", "targets", "guards", "playbook", "llm"];
    private static readonly string[] LlmKeys = ["model", "prompt", "trust", "replan"];
    private static readonly string[] ReplanModes = ["none", "after-each-action"];
    private static readonly string[] LlmRequired = ["model", "prompt"];
    private static readonly string[] AgentRequired = ["name", "version", "description", "tools"];
    private static readonly string[] CommonSignalKeys = ["kind", "name", "schema", "trusted"];
    private static readonly Dictionary<string, string[]> SignalKindKeys = new(StringComparer.Ordinal)
    {
        [HttpProbeSource.KindName] = ["path", "timeout", "extract"],
        [QueueDepthSource.KindName] = ["queue"],
        [TableCountSource.KindName] = ["table", "filter", "max"],
        [RequestSource.KindName] = ["path"],
    };
    private static readonly Dictionary<string, string[]> SignalKindRequired = new(StringComparer.Ordinal)
    {
        [QueueDepthSource.KindName] = ["queue"],
        [TableCountSource.KindName] = ["table"],
        [RequestSource.KindName] = ["path"],
    };
    private static readonly string[] SignalKinds = [HttpProbeSource.KindName, QueueDepthSource.KindName, TableCountSource.KindName, RequestSource.KindName];
    private static readonly string[] AllSignalKeys = [.. CommonSignalKeys.Concat(SignalKindKeys.Values.SelectMany(k => k)).Distinct(StringComparer.Ordinal)];
    private static readonly string[] TrustSources = [RequestGoal, RequestParameters];
    private static readonly string[] TargetKeys = ["scheme", "host", "port", "paths", "allowPrivate"];
    private static readonly string[] GuardKeys = ["maxSteps", "maxToolCalls", "budget", "maxIdenticalCalls", "maxPlans", "deadline"];
    private static readonly string[] PlaybookKeys = ["parameters", "rules"];
    private static readonly string[] PlaybookRequired = ["rules"];
    private static readonly string[] ParameterKeys = ["type", "default", "min", "max"];
    private static readonly string[] ParameterRequired = ["type", "default"];
    private static readonly string[] ParameterTypes = ["integer", "number", "string", "boolean"];
    private static readonly string[] RuleKeys = ["when", "rationale", "expectHealthy", "steps"];
    private static readonly string[] RuleRequired = ["rationale"];
    private static readonly string[] StepKeys = ["tool", "args", "rationale", "when", "repeat"];
    private static readonly string[] StepRequired = ["tool", "rationale"];
    private static readonly string[] Planners = [PlaybookPlanner, LlmPlanner];

    /// <summary>Loads every agent in <paramref name="directory"/> (<c>*.yaml</c> and <c>*.yml</c>, not its subdirectories).</summary>
    /// <exception cref="AgentLoadException">An agent has problems, two share a name, or the directory holds none.</exception>
    public static IReadOnlyList<AgentDefinition> LoadDirectory(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (!Directory.Exists(directory))
        {
            throw new AgentLoadException([new Diagnostic(directory, 1, 1, DiagnosticCodes.FileNotFound, $"agents directory '{directory}' does not exist")]);
        }
        var files = Directory.EnumerateFiles(directory)
            .Where(f => f.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".yml", StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal)
            .Select(f => (File: f, Text: File.ReadAllText(f)))
            .ToList();
        if (files.Count == 0)
        {
            throw new AgentLoadException([new Diagnostic(directory, 1, 1, DiagnosticCodes.FileNotFound, $"agents directory '{directory}' holds no agent (*.yaml)")]);
        }
        return LoadAll(files, DirectoryFiles(directory));
    }

    /// <summary>
    /// Reads the files agents in <paramref name="directory"/> name (their data contracts) by path relative to it. Schema
    /// paths are checked to stay inside the directory (no root, no '.' or '..' segment) before they get here.
    /// </summary>
    public static Func<string, string?> DirectoryFiles(string directory) =>
        path => File.Exists(Path.Combine(directory, path)) ? File.ReadAllText(Path.Combine(directory, path)) : null;

    /// <summary>Loads one agent from its YAML text; <paramref name="file"/> names it in diagnostics.</summary>
    /// <param name="yaml">The agent document.</param>
    /// <param name="file">The file name diagnostics carry.</param>
    /// <param name="knownTools">The deployment's tools: a name outside them is reported; <c>null</c> leaves that check to <see cref="AgentCatalog.CheckTools"/>.</param>
    /// <param name="readFile">Reads a file the agent names (a signal's schema) by its path relative to the agent's directory; null when there is none.</param>
    /// <exception cref="AgentLoadException">The agent has problems.</exception>
    public static AgentDefinition Load(string yaml, string file, IReadOnlyCollection<string>? knownTools = null, Func<string, string?>? readFile = null)
    {
        var agent = LoadAll([(file, yaml)], readFile).Single();
        if (knownTools is not null && AgentCatalog.ToolProblems([agent], knownTools) is { Count: > 0 } problems)
        {
            throw new AgentLoadException(problems);
        }
        return agent;
    }

    /// <summary>Loads several agent documents; a name used twice is reported at its second use.</summary>
    /// <param name="documents">The agent documents, each with the file name diagnostics carry.</param>
    /// <param name="readFile">Reads a file an agent names (a signal's schema) by its path relative to the agents' directory; null when there is none.</param>
    /// <exception cref="AgentLoadException">Every problem of every document, in file order.</exception>
    public static IReadOnlyList<AgentDefinition> LoadAll(IEnumerable<(string File, string Text)> documents, Func<string, string?>? readFile = null)
    {
        ArgumentNullException.ThrowIfNull(documents);
        var agents = new List<AgentDefinition>();
        var diagnostics = new List<Diagnostic>();
        var first = new Dictionary<string, (string File, int Line)>(StringComparer.Ordinal);
        foreach (var (file, text) in documents)
        {
            var source = new YamlSource(file, text);
            var agent = Read(source, readFile);
            if (agent is not null && first.TryGetValue(agent.Name, out var earlier))
            {
                var at = agent.NameAt!.Value;
                source.Report(at.Line, at.Column, DiagnosticCodes.DuplicateAgent, $"duplicate agent name '{agent.Name}' (first defined in {earlier.File} at line {earlier.Line})");
            }
            else if (agent is not null)
            {
                first[agent.Name] = (file, agent.NameAt!.Value.Line);
            }
            diagnostics.AddRange(source.Sorted());
            if (agent is not null && !source.HasErrors)
            {
                agents.Add(agent);
            }
        }
        if (diagnostics.Count > 0)
        {
            throw new AgentLoadException(diagnostics);
        }
        return agents;
    }

    private static AgentDefinition? Read(YamlSource source, Func<string, string?>? readFile)
    {
        var root = source.Parse("an agent with name, version, description and tools");
        var members = root is null ? null : source.Mapping(root, "an agent", "the agent", AgentKeys, AgentRequired);
        if (members is null)
        {
            return null;
        }
        var name = Text(source, members, "name", "the agent");
        if (name is not null && !IsAgentName(name))
        {
            source.Report(members["name"].Value.Start, DiagnosticCodes.InvalidValue, $"invalid agent name '{name}' (use 1 to 64 letters, digits, '.', '_' and '-', starting with a letter or digit)");
            name = null;
        }
        var where = name is null ? "the agent" : $"agent '{name}'";
        var nameAt = name is null ? default : (YamlSource.Line(members["name"].Value), YamlSource.Column(members["name"].Value));
        var version = Text(source, members, "version", where);
        if (version is not null && (version.Length is 0 or > 64 || version.Any(char.IsWhiteSpace)))
        {
            source.Report(members["version"].Value.Start, DiagnosticCodes.InvalidValue, $"'version' in {where} must be 1 to 64 characters without spaces");
            version = null;
        }
        var description = Text(source, members, "description", where);

        var autonomy = Autonomy.Supervised;
        if (Text(source, members, "autonomy", where) is { } autonomyText)
        {
            if (Autonomy.IsKnown(autonomyText))
            {
                autonomy = autonomyText;
            }
            else
            {
                var nearest = PolicySchema.Nearest(autonomyText, Autonomy.Levels);
                source.Report(members["autonomy"].Value.Start, DiagnosticCodes.InvalidAutonomy, nearest is not null
                    ? $"invalid autonomy '{autonomyText}' in {where} (did you mean '{nearest}'?)"
                    : $"invalid autonomy '{autonomyText}' in {where} (expected {string.Join(", ", Autonomy.Levels)})");
            }
        }

        var planner = PlaybookPlanner;
        if (Text(source, members, "planner", where) is { } plannerText)
        {
            planner = plannerText;
            if (plannerText is not (PlaybookPlanner or LlmPlanner))
            {
                var nearest = PolicySchema.Nearest(plannerText, Planners);
                source.Report(members["planner"].Value.Start, DiagnosticCodes.InvalidValue, nearest is not null
                    ? $"unknown planner '{plannerText}' in {where} (did you mean '{nearest}'?)"
                    : $"unknown planner '{plannerText}' in {where} (expected 'playbook' or 'llm')");
            }
        }

        var signals = members.TryGetValue("signals", out var signalsMember) ? ReadSignals(source, signalsMember, where, readFile) : [HttpProbeSource.Health];
        var tools = members.TryGetValue("tools", out var toolsMember) ? ReadTools(source, toolsMember, where) : null;
        var targets = members.TryGetValue("targets", out var targetsMember) ? ReadTargets(source, targetsMember, where) : null;
        var guards = members.TryGetValue("guards", out var guardsMember) ? ReadGuards(source, guardsMember, where) : null;

        Playbook? playbook = null;
        if (members.TryGetValue("playbook", out var playbookMember))
        {
            if (planner != PlaybookPlanner)
            {
                source.Report(playbookMember.Key.Start, DiagnosticCodes.InvalidValue, $"{where} has a playbook but its planner is '{planner}'");
            }
            else
            {
                playbook = ReadPlaybook(source, playbookMember, where, name ?? "agent", version ?? "0", tools, signals);
            }
        }
        else if (planner == PlaybookPlanner)
        {
            source.Report(root!.Start, DiagnosticCodes.MissingKey, $"missing required key 'playbook' in {where} (its planner is 'playbook')");
        }
        LlmSettings? llm = null;
        if (members.TryGetValue("llm", out var llmMember))
        {
            if (planner != LlmPlanner)
            {
                source.Report(llmMember.Key.Start, DiagnosticCodes.InvalidValue, $"{where} has an 'llm' section but its planner is '{planner}'");
            }
            else
            {
                llm = ReadLlm(source, llmMember, where, guards);
            }
        }
        else if (planner == LlmPlanner)
        {
            source.Report(root!.Start, DiagnosticCodes.MissingKey, $"missing required key 'llm' in {where} (its planner is 'llm': name its model and prompt template)");
        }

        if (source.HasErrors || name is null || version is null || description is null || tools is null || (playbook is null && llm is null))
        {
            return name is null ? null : Placeholder(name, nameAt);
        }
        Func<PlanInput, Plan> plan = playbook is not null
            ? playbook.Plan
            : _ => throw new InvalidOperationException($"Agent '{name}' plans with a language model, through the plan activity's LlmPlanner.");
        return new AgentDefinition(name, description, plan)
        {
            Llm = llm,
            Version = version,
            Hash = AgenticJson.Digest(source.Text),
            Source = source.File,
            Yaml = source.Text,
            PlannerKind = planner,
            Autonomy = autonomy,
            Guards = guards,
            Targets = targets,
            Tools = [.. tools.Select(t => t.Name)],
            Signals = signals,
            ToolReferences = tools,
            NameAt = nameAt,
        };
    }

    // An agent with problems still takes part in the duplicate-name check, so a second problem file is not silent about it.
    private static AgentDefinition Placeholder(string name, (int Line, int Column) nameAt) =>
        new(name, "", _ => throw new InvalidOperationException("An agent that did not load plans nothing.")) { NameAt = nameAt };

    private static List<SignalSource> ReadSignals(YamlSource source, Member member, string where, Func<string, string?>? readFile)
    {
        var result = new List<SignalSource>();
        if (member.Value is not YamlSequenceNode sequence || sequence.Children.Count == 0)
        {
            source.Report(member.Value.Start, DiagnosticCodes.InvalidValue, $"'signals' in {where} must be a list of signal sources (e.g. '- kind: http-probe')");
            return result;
        }
        var names = new Dictionary<string, int>(StringComparer.Ordinal);
        var index = 0;
        foreach (var node in sequence.Children)
        {
            var signalWhere = $"signal #{++index} of {where}";
            var signal = ReadSignal(source, node, signalWhere, readFile, out var naming);
            if (naming is not { } named)
            {
                continue;
            }
            if (names.TryGetValue(named.Name, out var first))
            {
                source.Report(named.At.Start, DiagnosticCodes.DuplicateSignal, named.Given
                    ? $"duplicate signal name '{named.Name}' in {where} (signal #{first} has it too)"
                    : $"duplicate signal name '{named.Name}' in {where} (signal #{first} has it too; give one a 'name')");
            }
            else
            {
                names[named.Name] = index;
            }
            if (signal is not null)
            {
                result.Add(signal);
            }
        }
        return result;
    }

    /// <summary>
    /// One signal source as an agent's <c>signals:</c> entry writes it (a monitor's <c>signal:</c> is written the same way);
    /// null (reported) when it has problems. <paramref name="naming"/> is the signal's name, where it is written and whether
    /// it was given, once the kind is known (for the caller's duplicate check).
    /// </summary>
    internal static SignalSource? ReadSignal(YamlSource source, YamlNode node, string signalWhere, Func<string, string?>? readFile, out (string Name, YamlNode At, bool Given)? naming)
    {
        naming = null;
        var members = source.Mapping(node, signalWhere, signalWhere, AllSignalKeys, ["kind"]);
        if (members is null || Text(source, members, "kind", signalWhere) is not { } kind)
        {
            return null;
        }
        if (!SignalKindKeys.TryGetValue(kind, out var kindKeys))
        {
            var nearest = PolicySchema.Nearest(kind, SignalKinds);
            source.Report(members["kind"].Value.Start, DiagnosticCodes.InvalidValue, nearest is not null
                ? $"unknown signal kind '{kind}' in {signalWhere} (did you mean '{nearest}'?)"
                : $"unknown signal kind '{kind}' in {signalWhere} (expected {string.Join(", ", SignalKinds)})");
            return null;
        }
        var before = source.Diagnostics.Count;
        foreach (var (key, other) in members.Where(m => !CommonSignalKeys.Contains(m.Key) && !kindKeys.Contains(m.Key)))
        {
            source.Report(other.Key.Start, DiagnosticCodes.UnknownKey,
                $"key '{key}' does not apply to {kind} signals ({signalWhere} takes {string.Join(", ", CommonSignalKeys.Concat(kindKeys))})");
        }
        foreach (var required in SignalKindRequired.GetValueOrDefault(kind, []).Where(r => !members.ContainsKey(r)))
        {
            source.Report(node.Start, DiagnosticCodes.MissingKey, $"missing required key '{required}' in {signalWhere} (a {kind} signal)");
        }
        SignalSource? signal = kind switch
        {
            HttpProbeSource.KindName => ReadProbe(source, members, signalWhere),
            QueueDepthSource.KindName => ReadQueueDepth(source, members, signalWhere),
            TableCountSource.KindName => ReadTableCount(source, members, signalWhere),
            _ => ReadRequestSignal(source, members, signalWhere),
        };
        var name = kind;
        var nameNode = members["kind"].Value;
        if (members.TryGetValue("name", out var nameMember) && source.Scalar(nameMember, signalWhere) is { } nameText)
        {
            nameNode = nameMember.Value;
            if (SignalSource.IsName(nameText))
            {
                name = nameText;
            }
            else
            {
                source.Report(nameMember.Value.Start, DiagnosticCodes.InvalidValue, $"invalid signal name '{nameText}' in {signalWhere} (use 1 to 64 letters, digits, '_' and '-', starting with a letter)");
            }
        }
        naming = (name, nameNode, members.ContainsKey("name"));
        var trusted = members.TryGetValue("trusted", out var trustedMember) && Bool(source, trustedMember, signalWhere);
        var contract = members.TryGetValue("schema", out var schemaMember) ? ReadContract(source, schemaMember, signalWhere, readFile) : null;
        if (signal is not null && source.Diagnostics.Count == before)
        {
            signal = signal with { Trusted = trusted, Contract = contract };
            return members.ContainsKey("name") ? signal with { Name = name } : signal;
        }
        return null;
    }

    private static HttpProbeSource ReadProbe(YamlSource source, Dictionary<string, Member> members, string where)
    {
        var path = HttpProbeSource.Health.Path;
        if (Text(source, members, "path", where) is { } pathText)
        {
            var route = pathText.TrimStart('/');
            if (HttpProbeSource.IsRoute(route))
            {
                path = route;
            }
            else
            {
                source.Report(members["path"].Value.Start, DiagnosticCodes.InvalidValue, $"invalid probe path '{pathText}' in {where} (a route under the target: segments of letters, digits, '-', '.', '_' and '~', no query)");
            }
        }
        var timeout = HttpProbeSource.Health.Timeout;
        if (Text(source, members, "timeout", where) is { } timeoutText)
        {
            if (PolicyLoader.ParseDuration(timeoutText) is { } parsed && parsed <= HttpProbeSource.MaxTimeout)
            {
                timeout = parsed;
            }
            else
            {
                source.Report(members["timeout"].Value.Start, DiagnosticCodes.InvalidDuration, $"invalid timeout '{timeoutText}' in {where} (a duration of at most 60s, e.g. '10s')");
            }
        }
        if (!members.TryGetValue("extract", out var extractMember))
        {
            return new HttpProbeSource(path, timeout);
        }
        var extract = new List<ProbeExtract>();
        if (extractMember.Value is not YamlMappingNode { Children.Count: > 0 and <= MaxExtracts } mapping)
        {
            source.Report(extractMember.Value.Start, DiagnosticCodes.InvalidValue, $"'extract' in {where} must be a mapping of 1 to {MaxExtracts} value names to JSON paths (e.g. 'depth: $.queue.depth')");
            return new HttpProbeSource(path, timeout);
        }
        foreach (var (keyNode, valueNode) in mapping.Children)
        {
            if (keyNode is not YamlScalarNode { Value: { } valueName } || !SignalSource.IsName(valueName))
            {
                source.Report(keyNode.Start, DiagnosticCodes.InvalidValue, $"the value names of 'extract' in {where} are 1 to 64 letters, digits, '_' and '-', starting with a letter");
                continue;
            }
            if (valueNode is not YamlScalarNode { Value: { } pathValue } || JsonPath.Parse(pathValue) is not { } jsonPath)
            {
                var written = valueNode is YamlScalarNode { Value: { } text } ? $"'{text}'" : "a list or a mapping";
                source.Report(valueNode.Start, DiagnosticCodes.InvalidValue, $"invalid JSON path {written} for '{valueName}' in {where} (write '$' and then '.member' or '[index]' parts, e.g. '$.queue.depth')");
                continue;
            }
            extract.Add(new ProbeExtract(valueName, jsonPath));
        }
        return new HttpProbeSource(path, timeout) { Extract = extract };
    }

    private static QueueDepthSource? ReadQueueDepth(YamlSource source, Dictionary<string, Member> members, string where)
    {
        if (Text(source, members, "queue", where) is not { } queue)
        {
            return null;
        }
        if (!StorageNames.IsQueueName(queue))
        {
            source.Report(members["queue"].Value.Start, DiagnosticCodes.InvalidValue, $"invalid queue name '{queue}' in {where} (an Azure Storage queue name: 3 to 63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit)");
            return null;
        }
        return new QueueDepthSource(queue);
    }

    private static TableCountSource? ReadTableCount(YamlSource source, Dictionary<string, Member> members, string where)
    {
        var table = Text(source, members, "table", where);
        if (table is not null && !StorageNames.IsTableName(table))
        {
            source.Report(members["table"].Value.Start, DiagnosticCodes.InvalidValue, $"invalid table name '{table}' in {where} (an Azure Storage table name: 3 to 63 letters and digits, starting with a letter, not 'tables')");
            table = null;
        }
        string? filter = null;
        if (Text(source, members, "filter", where) is { } filterText)
        {
            if (filterText.Trim().Length == 0 || filterText.Length > TableCountSource.MaxFilterLength || filterText.Any(char.IsControl))
            {
                source.Report(members["filter"].Value.Start, DiagnosticCodes.InvalidValue, $"'filter' in {where} must be an OData filter of 1 to {TableCountSource.MaxFilterLength} characters on one line (e.g. \"Status eq 'open'\")");
            }
            else
            {
                filter = filterText;
            }
        }
        var max = members.TryGetValue("max", out var maxMember) ? Integer(source, maxMember, where, 1, TableCountSource.HighestMax) : TableCountSource.DefaultMax;
        return table is null || max is null ? null : new TableCountSource(table, filter, max.Value);
    }

    private static RequestSource? ReadRequestSignal(YamlSource source, Dictionary<string, Member> members, string where)
    {
        if (Text(source, members, "path", where) is not { } path)
        {
            return null;
        }
        if (!RequestSource.IsRequestPath(path))
        {
            source.Report(members["path"].Value.Start, DiagnosticCodes.InvalidValue, $"invalid request path '{path}' in {where} (goal, parameters, or members under it such as 'parameters.document')");
            return null;
        }
        return new RequestSource(path);
    }

    /// <summary>A signal's data contract: a JSON Schema file relative to the agent file's directory, compiled now.</summary>
    private static DataContract? ReadContract(YamlSource source, Member member, string where, Func<string, string?>? readFile)
    {
        if (source.Scalar(member, where) is not { } path)
        {
            return null;
        }
        if (!IsSchemaPath(path))
        {
            source.Report(member.Value.Start, DiagnosticCodes.InvalidValue, $"invalid schema path '{path}' in {where} (a .json file beside the agent or below it, e.g. 'schemas/contract.schema.json')");
            return null;
        }
        if (readFile?.Invoke(path) is not { } text)
        {
            source.Report(member.Value.Start, DiagnosticCodes.FileNotFound, $"schema file '{path}' of {where} does not exist");
            return null;
        }
        try
        {
            return new DataContract(path, AgenticJson.Digest(text), Tools.ToolSchema.Compile(text, $"schema file '{path}' of {where}"));
        }
        catch (ArgumentException ex)
        {
            source.Report(member.Value.Start, DiagnosticCodes.InvalidSchema, ex.Message.Split(" (Parameter '", 2)[0].TrimEnd('.'));
            return null;
        }
    }

    /// <summary>A relative path to a <c>.json</c> file in the agent's directory or below it: no root, no '.' or '..' segment, no backslash.</summary>
    private static bool IsSchemaPath(string path) =>
        path.Length is > 5 and <= 256 && path.EndsWith(".json", StringComparison.Ordinal)
        && path.Split('/').All(segment => segment.Length > 0 && segment is not ("." or "..")
            && segment.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_'));

    /// <summary>The tools an agent lists; null (reported) when 'tools' is not a list, so its steps are not reported again.</summary>
    private static List<AgentToolReference>? ReadTools(YamlSource source, Member member, string where)
    {
        var result = new List<AgentToolReference>();
        if (member.Value is not YamlSequenceNode sequence)
        {
            source.Report(member.Value.Start, DiagnosticCodes.InvalidValue, $"'tools' in {where} must be a list of tool names");
            return null;
        }
        foreach (var node in sequence.Children)
        {
            if (node is not YamlScalarNode { Value: { Length: > 0 } tool } || !YamlSource.IsName(tool))
            {
                source.Report(node.Start, DiagnosticCodes.InvalidValue, $"the tools of {where} must be tool names such as 'sample.restart'");
                continue;
            }
            if (result.Any(t => t.Name == tool))
            {
                source.Report(node.Start, DiagnosticCodes.InvalidValue, $"tool '{tool}' is listed twice in {where}");
                continue;
            }
            result.Add(new AgentToolReference(tool, source.File, YamlSource.Line(node), YamlSource.Column(node)));
        }
        return result;
    }

    private static List<EndpointRule>? ReadTargets(YamlSource source, Member member, string where)
    {
        if (member.Value is not YamlSequenceNode sequence)
        {
            source.Report(member.Value.Start, DiagnosticCodes.InvalidValue, $"'targets' in {where} must be a list of target rules");
            return null;
        }
        var rules = new List<EndpointRule>();
        var index = 0;
        foreach (var node in sequence.Children)
        {
            var ruleWhere = $"target #{++index} of {where}";
            var members = source.Mapping(node, ruleWhere, ruleWhere, TargetKeys, ["host", "paths"]);
            if (members is null)
            {
                continue;
            }
            var before = source.Diagnostics.Count;
            var rule = new EndpointRule
            {
                Scheme = Text(source, members, "scheme", ruleWhere) ?? Uri.UriSchemeHttps,
                Host = Text(source, members, "host", ruleWhere) ?? "",
                Port = members.TryGetValue("port", out var port) ? Integer(source, port, ruleWhere, 1, 65535) : null,
                AllowPrivate = members.TryGetValue("allowPrivate", out var allowPrivate) && Bool(source, allowPrivate, ruleWhere),
            };
            if (members.TryGetValue("paths", out var paths))
            {
                foreach (var glob in Strings(source, paths, ruleWhere, "path globs"))
                {
                    rule.Paths.Add(glob);
                }
            }
            if (source.Diagnostics.Count > before)
            {
                continue;
            }
            var problems = new List<string>();
            rule.Validate(ruleWhere, problems);
            foreach (var problem in problems)
            {
                source.Report(node.Start, DiagnosticCodes.InvalidValue, problem);
            }
            rules.Add(rule);
        }
        return rules;
    }

    private static LlmSettings? ReadLlm(YamlSource source, Member member, string where, RunGuards? guards)
    {
        var llmWhere = "the llm section of " + where;
        var members = source.Mapping(member.Value, $"'llm' in {where}", llmWhere, LlmKeys, LlmRequired);
        if (members is null)
        {
            return null;
        }
        var model = Text(source, members, "model", llmWhere);
        var prompt = Text(source, members, "prompt", llmWhere);
        var trust = new List<string>();
        if (members.TryGetValue("trust", out var trustMember))
        {
            if (trustMember.Value is YamlSequenceNode sequence && sequence.Children.All(c => c is YamlScalarNode { Value.Length: > 0 }))
            {
                foreach (var item in sequence.Children.Cast<YamlScalarNode>())
                {
                    if (TrustSources.Contains(item.Value, StringComparer.Ordinal))
                    {
                        trust.Add(item.Value!);
                    }
                    else if (item.Value is "observation" || item.Value!.StartsWith("signal:", StringComparison.Ordinal))
                    {
                        // What perception reads is trusted signal by signal, where the signal is declared.
                        source.Report(item.Start, DiagnosticCodes.InvalidValue, $"'{item.Value}' can not be trusted in {llmWhere}: mark each signal the planner may trust with 'trusted: true' under 'signals'");
                    }
                    else
                    {
                        var nearest = PolicySchema.Nearest(item.Value, TrustSources);
                        source.Report(item.Start, DiagnosticCodes.InvalidValue, nearest is not null
                            ? $"unknown data source '{item.Value}' in 'trust' of {llmWhere} (did you mean '{nearest}'?)"
                            : $"unknown data source '{item.Value}' in 'trust' of {llmWhere} (expected {string.Join(" or ", TrustSources)})");
                    }
                }
            }
            else
            {
                source.Report(trustMember.Value.Start, DiagnosticCodes.InvalidValue, $"'trust' in {llmWhere} must be a list of data sources (e.g. 'request.goal')");
            }
        }
        var replan = ReplanMode.None;
        if (Text(source, members, "replan", llmWhere) is { } replanText)
        {
            var at = members["replan"].Value.Start;
            if (replanText == "after-each-action")
            {
                replan = ReplanMode.AfterEachAction;
                // Each action is followed by a plan: with one plan the run could never hear that the planner is done.
                if ((guards?.MaxPlans ?? 1) < 2)
                {
                    source.Report(at, DiagnosticCodes.InvalidValue,
                        $"'replan: after-each-action' in {llmWhere} asks the planner again after each action, and each plan counts against the guard 'maxPlans', which is {guards?.MaxPlans ?? 1}: set guards.maxPlans to at least 2 (the most actions plus one)");
                }
            }
            else if (replanText != "none")
            {
                var nearest = PolicySchema.Nearest(replanText, ReplanModes);
                source.Report(at, DiagnosticCodes.InvalidValue, nearest is not null
                    ? $"unknown replan '{replanText}' in {llmWhere} (did you mean '{nearest}'?)"
                    : $"unknown replan '{replanText}' in {llmWhere} (expected 'none' or 'after-each-action')");
            }
        }
        return model is null || prompt is null ? null : new LlmSettings(model, prompt, trust) { At = (YamlSource.Line(member.Key), YamlSource.Column(member.Key)), Replan = replan };
    }

    private static RunGuards? ReadGuards(YamlSource source, Member member, string where)
    {
        var guardsWhere = "the guards of " + where;
        var members = source.Mapping(member.Value, $"'guards' in {where}", guardsWhere, GuardKeys, []);
        if (members is null)
        {
            return null;
        }
        TimeSpan? deadline = null;
        if (Text(source, members, "deadline", guardsWhere) is { } deadlineText)
        {
            deadline = PolicyLoader.ParseDuration(deadlineText);
            if (deadline is null)
            {
                source.Report(members["deadline"].Value.Start, DiagnosticCodes.InvalidDuration, $"invalid deadline '{deadlineText}' in {guardsWhere} (use a positive number of days, hours, minutes and seconds, e.g. '30m')");
            }
        }
        return new RunGuards
        {
            MaxSteps = members.TryGetValue("maxSteps", out var maxSteps) ? Integer(source, maxSteps, guardsWhere, 1, 10_000) : null,
            MaxToolCalls = members.TryGetValue("maxToolCalls", out var maxToolCalls) ? Integer(source, maxToolCalls, guardsWhere, 1, 10_000) : null,
            Budget = members.TryGetValue("budget", out var budget) ? Number(source, budget, guardsWhere, 0, 1e9) : null,
            MaxIdenticalCalls = members.TryGetValue("maxIdenticalCalls", out var identical) ? Integer(source, identical, guardsWhere, 1, 10_000) : null,
            MaxPlans = members.TryGetValue("maxPlans", out var maxPlans) ? Integer(source, maxPlans, guardsWhere, 1, 1_000) : null,
            Deadline = deadline,
        };
    }

    private static Playbook? ReadPlaybook(YamlSource source, Member member, string where, string agent, string version, List<AgentToolReference>? tools, List<SignalSource> signals)
    {
        var playbookWhere = "the playbook of " + where;
        var members = source.Mapping(member.Value, $"'playbook' in {where}", playbookWhere, PlaybookKeys, PlaybookRequired);
        if (members is null)
        {
            return null;
        }
        var parameters = members.TryGetValue("parameters", out var parametersMember) ? ReadParameters(source, parametersMember, playbookWhere) : [];
        var rules = new List<PlaybookRule>();
        if (members.TryGetValue("rules", out var rulesMember))
        {
            if (rulesMember.Value is not YamlSequenceNode { Children.Count: > 0 } sequence)
            {
                source.Report(rulesMember.Value.Start, DiagnosticCodes.InvalidValue, $"'rules' in {playbookWhere} must be a list of at least one rule");
            }
            else
            {
                var index = 0;
                YamlNode? unconditional = null;
                foreach (var node in sequence.Children)
                {
                    index++;
                    if (unconditional is not null)
                    {
                        source.Report(node.Start, DiagnosticCodes.UnreachableRule, $"rule #{index} of {playbookWhere} can never match: rule #{index - 1} has no 'when' and matches every observation");
                        unconditional = null;
                    }
                    if (ReadRule(source, node, $"rule #{index} of {playbookWhere}", parameters, tools, signals) is { } rule)
                    {
                        rules.Add(rule);
                        if (rule.When is null)
                        {
                            unconditional = node;
                        }
                    }
                }
            }
        }
        return new Playbook(agent, version, parameters, rules);
    }

    private static List<PlaybookParameter> ReadParameters(YamlSource source, Member member, string where)
    {
        var result = new List<PlaybookParameter>();
        if (member.Value is not YamlMappingNode mapping)
        {
            source.Report(member.Value.Start, DiagnosticCodes.InvalidValue, $"'parameters' in {where} must be a mapping of parameter names to their type and default");
            return result;
        }
        foreach (var (keyNode, value) in mapping.Children)
        {
            if (keyNode is not YamlScalarNode { Value: { } name } || !IsParameterName(name))
            {
                source.Report(keyNode.Start, DiagnosticCodes.InvalidValue, $"parameter names in {where} are letters, digits and '_', starting with a letter");
                continue;
            }
            var parameterWhere = $"parameter '{name}' of {where}";
            var members = source.Mapping(value, parameterWhere, parameterWhere, ParameterKeys, ParameterRequired);
            if (members is null || Text(source, members, "type", parameterWhere) is not { } typeText)
            {
                continue;
            }
            var t = Array.IndexOf(ParameterTypes, typeText);
            if (t < 0)
            {
                var nearest = PolicySchema.Nearest(typeText, ParameterTypes);
                source.Report(members["type"].Value.Start, DiagnosticCodes.InvalidValue, nearest is not null
                    ? $"unknown type '{typeText}' in {parameterWhere} (did you mean '{nearest}'?)"
                    : $"unknown type '{typeText}' in {parameterWhere} (expected {string.Join(", ", ParameterTypes)})");
                continue;
            }
            var type = (ParameterType)t;
            var numeric = type is ParameterType.Integer or ParameterType.Number;
            double? Bound(string key)
            {
                if (!members.TryGetValue(key, out var bound))
                {
                    return null;
                }
                if (!numeric)
                {
                    source.Report(bound.Key.Start, DiagnosticCodes.InvalidValue, $"'{key}' in {parameterWhere} applies to integer and number parameters only");
                    return null;
                }
                return type == ParameterType.Integer ? Integer(source, bound, parameterWhere, int.MinValue, int.MaxValue) : Number(source, bound, parameterWhere, double.MinValue, double.MaxValue);
            }
            var min = Bound("min");
            var max = Bound("max");
            if (min > max)
            {
                source.Report(members["min"].Value.Start, DiagnosticCodes.InvalidValue, $"'min' of {parameterWhere} is greater than its 'max'");
            }
            JsonNode? fallback = null;
            if (members.TryGetValue("default", out var defaultMember))
            {
                fallback = type switch
                {
                    ParameterType.Integer => Integer(source, defaultMember, parameterWhere, (int)Math.Max(int.MinValue, min ?? int.MinValue), (int)Math.Min(int.MaxValue, max ?? int.MaxValue)) is { } i ? JsonValue.Create(i) : null,
                    ParameterType.Number => Number(source, defaultMember, parameterWhere, min ?? double.MinValue, max ?? double.MaxValue) is { } d ? JsonValue.Create(d) : null,
                    ParameterType.Boolean => JsonValue.Create(Bool(source, defaultMember, parameterWhere)),
                    _ => source.Scalar(defaultMember, parameterWhere) is { } s ? JsonValue.Create(s) : null,
                };
            }
            result.Add(new PlaybookParameter(name, type, fallback, min, max));
        }
        return result;
    }

    private static PlaybookRule? ReadRule(YamlSource source, YamlNode node, string where, List<PlaybookParameter> parameters, List<AgentToolReference>? tools, List<SignalSource> signals)
    {
        var members = source.Mapping(node, where, where, RuleKeys, RuleRequired);
        if (members is null)
        {
            return null;
        }
        var schema = new PlaybookSchema(parameters, signals, repeating: false);
        var when = members.TryGetValue("when", out var whenMember) ? Predicate(source, whenMember, where, schema) : null;
        var rationale = members.TryGetValue("rationale", out var rationaleMember) ? Template(source, rationaleMember, where, schema) : null;
        var expectHealthy = members.TryGetValue("expectHealthy", out var expectMember) && Bool(source, expectMember, where);
        var steps = new List<StepTemplate>();
        if (members.TryGetValue("steps", out var stepsMember))
        {
            if (stepsMember.Value is YamlSequenceNode sequence)
            {
                var index = 0;
                foreach (var stepNode in sequence.Children)
                {
                    if (ReadStep(source, stepNode, $"step #{++index} of {where}", parameters, tools, signals) is { } step)
                    {
                        steps.Add(step);
                    }
                }
            }
            else if (stepsMember.Value is not YamlScalarNode { Value: null or "" })
            {
                source.Report(stepsMember.Value.Start, DiagnosticCodes.InvalidValue, $"'steps' in {where} must be a list of steps");
            }
        }
        return rationale is null || (members.ContainsKey("when") && when is null) ? null : new PlaybookRule(when, rationale, expectHealthy, steps);
    }

    private static StepTemplate? ReadStep(YamlSource source, YamlNode node, string where, List<PlaybookParameter> parameters, List<AgentToolReference>? tools, List<SignalSource> signals)
    {
        var members = source.Mapping(node, where, where, StepKeys, StepRequired);
        if (members is null)
        {
            return null;
        }
        var valid = true;
        var tool = Text(source, members, "tool", where);
        if (tool is not null && tools is not null && !tools.Any(t => t.Name == tool))
        {
            source.Report(members["tool"].Value.Start, DiagnosticCodes.UndeclaredTool, tools.Count == 0
                ? $"{where} calls '{tool}', but the agent lists no tools (add it to 'tools')"
                : $"{where} calls '{tool}', which is not among the agent's tools ({string.Join(", ", tools.Select(t => t.Name))})");
            valid = false;
        }
        StepRepeat? repeat = null;
        if (members.TryGetValue("repeat", out var repeatMember))
        {
            repeat = ReadRepeat(source, repeatMember, where, parameters);
            valid &= repeat is not null;
        }
        // A step whose repeat did not load is still checked as a repeated step, so its bindings are not reported twice.
        var schema = new PlaybookSchema(parameters, signals, repeating: members.ContainsKey("repeat"));
        Condition? when = null;
        if (members.TryGetValue("when", out var whenMember))
        {
            when = Predicate(source, whenMember, where, schema);
            valid &= when is not null;
        }
        var rationale = members.TryGetValue("rationale", out var rationaleMember) ? Template(source, rationaleMember, where, schema) : null;
        ValueTemplate.Mapping? arguments = new([]);
        if (members.TryGetValue("args", out var argsMember))
        {
            if (argsMember.Value is YamlMappingNode)
            {
                arguments = Value(source, argsMember.Value, where, schema) as ValueTemplate.Mapping;
            }
            else if (argsMember.Value is not YamlScalarNode { Value: null or "", Style: ScalarStyle.Plain })
            {
                source.Report(argsMember.Value.Start, DiagnosticCodes.InvalidValue, $"'args' in {where} must be a mapping of argument names to values");
                arguments = null;
            }
        }
        return valid && tool is not null && rationale is not null && arguments is not null ? new StepTemplate(tool, arguments, rationale, when, repeat) : null;
    }

    private static StepRepeat? ReadRepeat(YamlSource source, Member member, string where, List<PlaybookParameter> parameters)
    {
        if (member.Value is not YamlScalarNode { Value: { } text } scalar)
        {
            source.Report(member.Value.Start, DiagnosticCodes.InvalidValue, $"'repeat' in {where} must be a count or an integer parameter (parameters.<name>)");
            return null;
        }
        if (scalar.Style == ScalarStyle.Plain && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var count))
        {
            if (count is < 1 or > MaxRepeat)
            {
                source.Report(scalar.Start, DiagnosticCodes.InvalidValue, $"'repeat' in {where} must be 1 to {MaxRepeat}");
                return null;
            }
            return new StepRepeat(count, null);
        }
        const string prefix = "parameters.";
        var parameter = text.StartsWith(prefix, StringComparison.Ordinal) ? parameters.FirstOrDefault(p => p.Name == text[prefix.Length..]) : null;
        if (parameter is null)
        {
            var known = parameters.Where(p => p.Type == ParameterType.Integer).Select(p => prefix + p.Name).ToList();
            var nearest = PolicySchema.Nearest(text, known);
            source.Report(scalar.Start, DiagnosticCodes.UnknownAttribute, nearest is not null
                ? $"unknown attribute '{text}' in the 'repeat' of {where} (did you mean '{nearest}'?)"
                : $"'repeat' in {where} must be a count or an integer parameter (parameters.<name>), not '{text}'");
            return null;
        }
        if (parameter.Type != ParameterType.Integer || parameter.Min is not >= 0 || parameter.Max is not { } max || max > MaxRepeat)
        {
            source.Report(scalar.Start, DiagnosticCodes.InvalidValue, $"'repeat' in {where} names '{text}', which must be an integer parameter with 'min' of 0 or more and 'max' of at most {MaxRepeat}");
            return null;
        }
        return new StepRepeat(null, parameter.Name);
    }

    /// <summary>A predicate in the policy expression language, over the playbook's attributes; null (reported) when it does not check.</summary>
    internal static Condition? Predicate(YamlSource source, Member member, string where, AttributeSchema schema)
    {
        if (member.Value is not YamlScalarNode { Value: { } text } scalar)
        {
            source.Report(member.Value.Start, DiagnosticCodes.InvalidValue, $"'when' in {where} must be a condition");
            return null;
        }
        Expr expr;
        try
        {
            expr = Policy.Language.Parser.Parse(text);
        }
        catch (ConditionSyntaxException ex)
        {
            var (line, column) = source.Locate(scalar, ex.Offset);
            source.Report(line, column, DiagnosticCodes.SyntaxError, ex.Message);
            return null;
        }
        var checker = ConditionChecker.Check(expr, text, schema);
        foreach (var problem in checker.Errors)
        {
            var (line, column) = source.Locate(scalar, problem.Offset);
            source.Report(line, column, problem.Code, problem.Message);
        }
        return checker.Errors.Count == 0 ? ConditionCompiler.Compile(expr) : null;
    }

    /// <summary>A text with <c>${attribute}</c> bindings; null (reported) when a binding is malformed or names an unknown attribute.</summary>
    internal static TextTemplate? Template(YamlSource source, Member member, string where, AttributeSchema schema)
    {
        if (member.Value is not YamlScalarNode scalar)
        {
            source.Report(member.Value.Start, DiagnosticCodes.InvalidValue, $"'{member.Key.Value}' in {where} must be a string");
            return null;
        }
        return Template(source, scalar, schema);
    }

    private static TextTemplate? Template(YamlSource source, YamlScalarNode scalar, AttributeSchema schema)
    {
        var text = scalar.Value ?? "";
        var parts = new List<TextTemplate.Part>();
        var literal = new System.Text.StringBuilder();
        var valid = true;
        var i = 0;
        while (i < text.Length)
        {
            if (text[i] == '$' && i + 2 < text.Length && text[i + 1] == '$' && text[i + 2] == '{')
            {
                literal.Append("${");
                i += 3;
                continue;
            }
            if (text[i] != '$' || i + 1 >= text.Length || text[i + 1] != '{')
            {
                literal.Append(text[i++]);
                continue;
            }
            var close = text.IndexOf('}', i + 2);
            if (close < 0)
            {
                Report(source, scalar, i, DiagnosticCodes.SyntaxError, "syntax error: unterminated binding '${' (close it with '}', or write '$${' for a literal '${')");
                return null;
            }
            var path = text[(i + 2)..close].Trim();
            var pathOffset = i + 2 + (text[(i + 2)..close].Length - text[(i + 2)..close].TrimStart().Length);
            if (!BindingPath().IsMatch(path))
            {
                Report(source, scalar, i, DiagnosticCodes.SyntaxError, $"syntax error: '{text[i..(close + 1)]}' is not a binding (write an attribute, e.g. '${{observation.status}}')");
                valid = false;
            }
            else if (!schema.TryResolve(path, out _))
            {
                Report(source, scalar, pathOffset, DiagnosticCodes.UnknownAttribute, schema.UnknownMessage(path));
                valid = false;
            }
            if (literal.Length > 0)
            {
                parts.Add(new(literal.ToString(), null));
                literal.Clear();
            }
            parts.Add(new(null, path));
            i = close + 1;
        }
        if (literal.Length > 0 || parts.Count == 0)
        {
            parts.Add(new(literal.ToString(), null));
        }
        return valid ? new TextTemplate(parts) : null;
    }

    private static void Report(YamlSource source, YamlScalarNode scalar, int offset, string code, string message)
    {
        var (line, column) = source.Locate(scalar, offset);
        source.Report(line, column, code, message);
    }

    /// <summary>An argument template from YAML: plain scalars typed as YAML's core schema types them, quoted ones strings.</summary>
    private static ValueTemplate? Value(YamlSource source, YamlNode node, string where, PlaybookSchema schema)
    {
        switch (node)
        {
            case YamlMappingNode mapping:
            {
                var members = new List<KeyValuePair<string, ValueTemplate>>();
                var valid = true;
                foreach (var (keyNode, valueNode) in mapping.Children)
                {
                    if (keyNode is not YamlScalarNode { Value: { Length: > 0 } key })
                    {
                        source.Report(keyNode.Start, DiagnosticCodes.InvalidValue, $"argument names in {where} must be strings");
                        valid = false;
                        continue;
                    }
                    if (Value(source, valueNode, where, schema) is { } value)
                    {
                        members.Add(new(key, value));
                    }
                    else
                    {
                        valid = false;
                    }
                }
                return valid ? new ValueTemplate.Mapping(members) : null;
            }
            case YamlSequenceNode sequence:
            {
                var items = sequence.Children.Select(c => Value(source, c, where, schema)).ToList();
                return items.Any(i => i is null) ? null : new ValueTemplate.Sequence(items!);
            }
            case YamlScalarNode scalar when scalar.Style == ScalarStyle.Plain && !(scalar.Value ?? "").Contains("${", StringComparison.Ordinal):
                return new ValueTemplate.Literal(PlainScalar(scalar.Value ?? ""));
            case YamlScalarNode scalar:
                return Template(source, scalar, schema) is { } template
                    ? template.Parts is [{ Literal: { } text }] ? new ValueTemplate.Literal(JsonValue.Create(text)) : new ValueTemplate.Text(template)
                    : null;
            default:
                source.Report(node.Start, DiagnosticCodes.InvalidValue, $"unsupported value in {where}");
                return null;
        }
    }

    /// <summary>A plain scalar as YAML 1.2's core schema reads it: null, a boolean, an integer, a float, else a string.</summary>
    private static JsonValue? PlainScalar(string text)
    {
        if (text is "" or "~" or "null" or "Null" or "NULL")
        {
            return null;
        }
        if (text is "true" or "True" or "TRUE" or "false" or "False" or "FALSE")
        {
            return JsonValue.Create(text[0] is 't' or 'T');
        }
        if (IntegerText().IsMatch(text) && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
        {
            return JsonValue.Create(integer);
        }
        if (FloatText().IsMatch(text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number))
        {
            return JsonValue.Create(number);
        }
        return JsonValue.Create(text);
    }

    private static int? Integer(YamlSource source, Member member, string where, int min, int max)
    {
        if (member.Value is YamlScalarNode { Style: ScalarStyle.Plain, Value: { } text } && IntegerText().IsMatch(text)
            && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max)
        {
            return (int)value;
        }
        source.Report(member.Value.Start, DiagnosticCodes.InvalidValue, min == int.MinValue && max == int.MaxValue
            ? $"'{member.Key.Value}' in {where} must be an integer"
            : $"'{member.Key.Value}' in {where} must be an integer from {min} to {max}");
        return null;
    }

    private static double? Number(YamlSource source, Member member, string where, double min, double max)
    {
        if (member.Value is YamlScalarNode { Style: ScalarStyle.Plain, Value: { } text } && (IntegerText().IsMatch(text) || FloatText().IsMatch(text))
            && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value) && value >= min && value <= max)
        {
            return value;
        }
        source.Report(member.Value.Start, DiagnosticCodes.InvalidValue, min == double.MinValue && max == double.MaxValue
            ? $"'{member.Key.Value}' in {where} must be a number"
            : $"'{member.Key.Value}' in {where} must be a number from {min.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)}");
        return null;
    }

    internal static bool Bool(YamlSource source, Member member, string where)
    {
        if (member.Value is YamlScalarNode { Style: ScalarStyle.Plain, Value: "true" or "false" } scalar)
        {
            return scalar.Value == "true";
        }
        source.Report(member.Value.Start, DiagnosticCodes.InvalidValue, $"'{member.Key.Value}' in {where} must be true or false");
        return false;
    }

    private static List<string> Strings(YamlSource source, Member member, string where, string what)
    {
        if (member.Value is not YamlSequenceNode sequence || sequence.Children.Any(c => c is not YamlScalarNode { Value: not null }))
        {
            source.Report(member.Value.Start, DiagnosticCodes.InvalidValue, $"'{member.Key.Value}' in {where} must be a list of {what}");
            return [];
        }
        return [.. sequence.Children.Cast<YamlScalarNode>().Select(s => s.Value!)];
    }

    internal static string? Text(YamlSource source, Dictionary<string, Member> members, string key, string where) =>
        members.TryGetValue(key, out var member) ? source.Scalar(member, where) : null;

    /// <summary>Agent names: 1 to 64 letters, digits, '.', '_' and '-', starting with a letter or digit (they appear in URIs, kill-switch rules and metrics).</summary>
    public static bool IsAgentName(string name) => AgentName().IsMatch(name);

    private static bool IsParameterName(string name) => ParameterName().IsMatch(name);

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex AgentName();

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9_]{0,63}$")]
    private static partial Regex ParameterName();

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$")]
    private static partial Regex BindingPath();

    [GeneratedRegex("^[-+]?[0-9]+$")]
    private static partial Regex IntegerText();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex FloatText();
}

/// <summary>A tool an agent lists, with where it is listed (for the start-up check against the deployment's tools).</summary>
public sealed record AgentToolReference(string Name, string File, int Line, int Column);

/// <summary>Agents failed to load; <see cref="Diagnostics"/> lists every problem found, in file order.</summary>
public sealed class AgentLoadException : Exception
{
    /// <summary>A load failure with its diagnostics (at least one).</summary>
    public AgentLoadException(IReadOnlyList<Diagnostic> diagnostics)
        : base(Describe(diagnostics))
    {
        Diagnostics = diagnostics;
    }

    /// <summary>Every problem found, in the order of the files.</summary>
    public IReadOnlyList<Diagnostic> Diagnostics { get; }

    private static string Describe(IReadOnlyList<Diagnostic> diagnostics) => Diagnostic.Describe("The agents", diagnostics);
}
