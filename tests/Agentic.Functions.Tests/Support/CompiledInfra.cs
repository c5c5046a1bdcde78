using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Agentic.Testing;

namespace Agentic.Functions.Tests.Support;

/// <summary>
/// infra/main.bicep compiled to an ARM template by the Bicep CLI of the Azure.Bicep.CommandLine.linux-x64 package, once
/// per test run, with what it printed: azd runs the same compile on <c>azd provision</c>, so a warning here is one there.
/// </summary>
public sealed partial class CompiledInfra : IAsyncLifetime
{
    private static readonly TimeSpan CompileBound = TimeSpan.FromMinutes(3);

    public ToolResult Compile { get; private set; } = new(-1, "", "");

    /// <summary>The compiled template of main.bicep.</summary>
    public JsonObject Template { get; private set; } = [];

    public async ValueTask InitializeAsync()
    {
        Compile = await Tool.RunAsync(Tool.BicepPath, ["build", Path.Combine(Repo.Root, "infra", "main.bicep"), "--stdout"], Repo.Root, CompileBound);
        if (Compile.ExitCode == 0)
        {
            Template = JsonNode.Parse(Compile.Output)!.AsObject();
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>Every module of main.bicep: its deployment name, the parameters main passes and its template.</summary>
    public IReadOnlyList<BicepModule> Modules =>
        [.. Resources(Template)
            .Where(r => Type(r) == "Microsoft.Resources/deployments")
            .Select(r => new BicepModule(r["name"]!.GetValue<string>(), r["properties"]!["parameters"]!.AsObject(), r["properties"]!["template"]!.AsObject()))];

    /// <summary>The one module holding a resource of <paramref name="type"/>, and that resource.</summary>
    public (BicepModule Module, JsonObject Resource) One(string type, string? nameContains = null)
    {
        var found = Modules
            .SelectMany(m => Resources(m.Template).Select(r => (m, r)))
            .Where(x => Type(x.r) == type && (nameContains is null || x.r["name"]!.GetValue<string>().Contains(nameContains, StringComparison.Ordinal)))
            .ToList();
        Assert.True(found.Count == 1, $"Expected one {type}{(nameContains is null ? "" : $" named *{nameContains}*")} in infra/, found {found.Count}.");
        return found[0];
    }

    /// <summary>A template's resources, whether it lists them (language 1.0) or names them (language 2.0).</summary>
    public static IEnumerable<JsonObject> Resources(JsonObject template) => template["resources"] switch
    {
        JsonArray list => list.Select(r => r!.AsObject()),
        JsonObject named => named.Select(p => p.Value!.AsObject()),
        _ => [],
    };

    public static string Type(JsonObject resource) => resource["type"]!.GetValue<string>();

    /// <summary>The deployment a module parameter's value comes from: 'x' in reference(...'Microsoft.Resources/deployments', 'x'...).</summary>
    public static string? DeploymentReferenced(string expression) =>
        DeploymentReference().Match(expression) is { Success: true } m ? m.Groups[1].Value : null;

    /// <summary>The parameter a value is: 'p' in [parameters('p')] (or [format('{0}', parameters('p'))], Bicep's spelling of a
    /// parameter used as a property name), or null for anything else.</summary>
    public static string? ParameterOf(string expression) =>
        ParameterReference().Match(expression) is { Success: true } m ? m.Groups[1].Value : null;

    [GeneratedRegex(@"'Microsoft\.Resources/deployments',\s*'([^']+)'")]
    private static partial Regex DeploymentReference();

    [GeneratedRegex(@"^\[(?:format\('\{0\}',\s*)?parameters\('([^']+)'\)\)?\]$")]
    private static partial Regex ParameterReference();
}

/// <summary>A module of main.bicep as compiled: a nested deployment.</summary>
public sealed record BicepModule(string Name, JsonObject Parameters, JsonObject Template)
{
    /// <summary>The value main passes for <paramref name="parameter"/> (an expression string), or null.</summary>
    public string? Argument(string parameter) =>
        Parameters[parameter]?["value"] is { } value ? value is JsonValue v && v.TryGetValue<string>(out var text) ? text : value.ToJsonString() : null;

    /// <summary>What a value inside this module's template stands for: main's argument when it is one of the module's parameters.</summary>
    public string Resolve(string value) => CompiledInfra.ParameterOf(value) is { } p && Argument(p) is { } argument ? argument : value;

    /// <summary>A variable of the module's template.</summary>
    public JsonNode? Variable(string name) => Template["variables"]?[name];
}
