using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Agentic.Testing;

namespace Agentic.Functions.Tests.Support;

/// <summary>
/// Functions/ published the way azd publishes it (dotnet publish, reusing the solution's build), and what is in the
/// folder: <c>functions.metadata</c> (what the Functions host indexes), <c>host.json</c>, and the Agentic assemblies.
/// </summary>
public sealed class PublishedFunctionsApp : IAsyncLifetime
{
    private static readonly TimeSpan PublishBound = TimeSpan.FromMinutes(4);

    public string Folder { get; } = Path.Combine(Path.GetTempPath(), "agentic-functions-" + Guid.NewGuid().ToString("N")[..12]);

    /// <summary>Every function the Functions host will index, as the worker SDK wrote them.</summary>
    public IReadOnlyList<FunctionMetadata> Functions { get; private set; } = [];

    /// <summary>The raw text of functions.metadata, for checks that hold for every member.</summary>
    public string MetadataText { get; private set; } = "";

    /// <summary>The published host.json.</summary>
    public JsonObject HostJson { get; private set; } = [];

    /// <summary>Options, settings and roles declared in the published Agentic assemblies.</summary>
    public DeployedCode Code { get; private set; } = DeployedCode.Empty;

    public async ValueTask InitializeAsync()
    {
        // --no-build: the solution build (./agentic build, or the project reference when this project is built alone)
        // made the binaries; publishing only lays them out with functions.metadata and the extensions bundle.
        var publish = await Tool.RunAsync(
            "dotnet",
            ["publish", Path.Combine(Repo.Root, "Functions", "Agentic.Functions.csproj"), "-c", Tool.Configuration, "--no-build", "--nologo", "-v:q",
             "--disable-build-servers", "-o", Folder],
            Repo.Root,
            PublishBound);
        if (publish.ExitCode != 0)
        {
            throw new InvalidOperationException($"dotnet publish of Functions/ failed (build the solution first: ./agentic build):\n{publish}");
        }
        MetadataText = await File.ReadAllTextAsync(Path.Combine(Folder, "functions.metadata"));
        Functions = FunctionMetadata.Parse(MetadataText);
        HostJson = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(Folder, "host.json")))!.AsObject();
        Code = DeployedCode.Read(Folder);
    }

    /// <summary>Functions' route prefix (host.json extensions.http.routePrefix, "api" when absent).</summary>
    public string RoutePrefix => HostJson["extensions"]?["http"]?["routePrefix"]?.GetValue<string>() ?? "api";

    public ValueTask DisposeAsync()
    {
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
        return ValueTask.CompletedTask;
    }
}

/// <summary>One entry of functions.metadata.</summary>
public sealed record FunctionMetadata(string Name, IReadOnlyList<JsonObject> Bindings)
{
    /// <summary>The trigger binding (direction In, type ending in "Trigger").</summary>
    public JsonObject? Trigger => Bindings.FirstOrDefault(b =>
        b["type"]?.GetValue<string>() is { } type && type.EndsWith("Trigger", StringComparison.OrdinalIgnoreCase));

    public bool IsHttp => Trigger?["type"]?.GetValue<string>() is { } type && type.Equals("httpTrigger", StringComparison.OrdinalIgnoreCase);

    public static IReadOnlyList<FunctionMetadata> Parse(string json) =>
        [.. JsonNode.Parse(json)!.AsArray().Select(f => new FunctionMetadata(
            f!["name"]!.GetValue<string>(),
            [.. (f["bindings"]?.AsArray() ?? []).Select(b => b!.AsObject())]))];
}

/// <summary>A public static options-style type: a <c>Section</c> constant and its bindable properties.</summary>
public sealed record OptionsSection(string Type, string Section, IReadOnlyList<OptionsProperty> Properties);

/// <summary>A settable property of an options type; <c>Leaf</c> when it binds one value (not a list, map or object).</summary>
public sealed record OptionsProperty(string Name, bool Required, bool Leaf);

/// <summary>A <c>public const string</c> and where it is declared.</summary>
public sealed record StringConstant(string Type, string Field, string Value);

/// <summary>
/// What the published Agentic assemblies declare, read without loading them (MetadataLoadContext): options types
/// (a <c>public const string Section</c> with settable properties, <c>[Required]</c> marking what must be set) and every
/// <c>public const string</c> (setting names such as <c>KeyVaultSecretProvider.UriSetting</c>, role names).
/// </summary>
public sealed record DeployedCode(IReadOnlyList<OptionsSection> Options, IReadOnlyList<StringConstant> Constants)
{
    public static DeployedCode Empty { get; } = new([], []);

    public static DeployedCode Read(string folder)
    {
        var ours = Directory.GetFiles(folder, "Agentic.*.dll");
        var frameworks = new[] { RuntimeEnvironment.GetRuntimeDirectory(), Path.GetDirectoryName(typeof(Microsoft.AspNetCore.Http.HttpContext).Assembly.Location)! };
        var resolver = new PathAssemblyResolver(Directory.GetFiles(folder, "*.dll").Concat(frameworks.SelectMany(d => Directory.GetFiles(d, "*.dll"))));
        using var context = new MetadataLoadContext(resolver);
        var options = new List<OptionsSection>();
        var constants = new List<StringConstant>();
        foreach (var path in ours)
        {
            foreach (var type in Types(context.LoadFromAssemblyPath(path)).Where(t => t.IsClass))
            {
                var fields = type.GetFields(BindingFlags.Public | BindingFlags.Static | BindingFlags.DeclaredOnly)
                    .Where(f => f.IsLiteral && f.FieldType.FullName == "System.String")
                    .Select(f => new StringConstant(type.FullName!, f.Name, (string)f.GetRawConstantValue()!))
                    .ToList();
                constants.AddRange(fields);
                if (fields.FirstOrDefault(f => f.Field == "Section") is { } section)
                {
                    var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                        .Where(p => p.SetMethod is { IsPublic: true })
                        .Select(p => new OptionsProperty(
                            p.Name,
                            p.GetCustomAttributesData().Any(a => a.AttributeType.FullName == "System.ComponentModel.DataAnnotations.RequiredAttribute"),
                            IsLeaf(p.PropertyType)))
                        .ToList();
                    options.Add(new OptionsSection(type.FullName!, section.Value, properties));
                }
            }
        }
        return new DeployedCode(options, constants);
    }

    /// <summary>
    /// Whether the code reads configuration key <paramref name="key"/> (':'-separated): a property of an options type
    /// (any key under a list, map or object property), a setting named by a constant, or a key under a section that has
    /// no options type of its own (e.g. <c>Agentic:Secrets:{name}</c>).
    /// </summary>
    public bool Reads(string key)
    {
        foreach (var o in Options)
        {
            foreach (var p in o.Properties)
            {
                var path = o.Section + ":" + p.Name;
                if (key.Equals(path, StringComparison.OrdinalIgnoreCase)
                    || (!p.Leaf && key.StartsWith(path + ":", StringComparison.OrdinalIgnoreCase)))
                {
                    return true;
                }
            }
        }
        var sectionsWithOptions = Options.Where(o => o.Properties.Count > 0).Select(o => o.Section).ToHashSet(StringComparer.OrdinalIgnoreCase);
        return Constants
            .Where(c => c.Value.StartsWith("Agentic:", StringComparison.Ordinal) && !sectionsWithOptions.Contains(c.Value))
            .Any(c => key.Equals(c.Value, StringComparison.OrdinalIgnoreCase) || key.StartsWith(c.Value + ":", StringComparison.OrdinalIgnoreCase));
    }

    private static IEnumerable<Type> Types(Assembly assembly)
    {
        try
        {
            return assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException ex)
        {
            return ex.Types.OfType<Type>();
        }
    }

    private static bool IsLeaf(Type type)
    {
        var t = type.IsGenericType && type.GetGenericTypeDefinition().FullName == "System.Nullable`1" ? type.GetGenericArguments()[0] : type;
        return t.IsPrimitive || t.IsEnum || t.FullName is "System.String" or "System.Decimal" or "System.TimeSpan" or "System.Uri" or "System.DateTimeOffset" or "System.Guid";
    }
}
