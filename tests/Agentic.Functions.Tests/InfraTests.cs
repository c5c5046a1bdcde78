using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Agentic.Functions.Tests.Support;
using Agentic.Testing;

namespace Agentic.Functions.Tests;

// infra/ as azd provisions it, held against the code that will run there. The settings the code needs are read from the
// published assemblies (options types' Section constants and their [Required] members, setting-name constants) and from
// the published functions.metadata and host.json (connection names), so a new required option or trigger connection
// fails here until infra/ provides it.
public sealed partial class InfraTests(CompiledInfra infra, PublishedFunctionsApp functions)
{
    // The Functions host's own storage connection: the platform needs it, no code of ours names it.
    private const string HostStorage = "AzureWebJobsStorage";

    // Azure's built-in role definition ids (the same in every tenant) that let an identity use each service.
    private static readonly Dictionary<string, (string Id, string Name)[]> DataRoles = new(StringComparer.Ordinal)
    {
        ["blob"] = [("b7e6dc6d-f1e8-4753-8033-0f276bb0955b", "Storage Blob Data Owner"), ("ba92f5b4-2d11-453d-a403-e96b0029c9fe", "Storage Blob Data Contributor")],
        ["queue"] = [("974c5e8b-45b9-4653-ba55-5f855dd0fb88", "Storage Queue Data Contributor")],
        ["table"] = [("0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3", "Storage Table Data Contributor")],
        ["secrets"] = [("4633458b-17de-408a-b874-0445c86b69e6", "Key Vault Secrets User")],
    };

    [Fact]
    public void Infra_CompilesWithTheBicepCli_WithoutWarnings()
    {
        Assert.True(infra.Compile.ExitCode == 0, $"bicep build infra/main.bicep failed:\n{infra.Compile}");
        // Bicep prints every diagnostic (errors, warnings, linter findings) on stderr; the template alone goes to stdout.
        Assert.True(infra.Compile.Errors.Trim().Length == 0, $"bicep build infra/main.bicep printed diagnostics:\n{infra.Compile.Errors}");
        Assert.NotEmpty(infra.Modules);
    }

    [Fact]
    public void AuditCheckpoints_LiveInAContainerUnderATimeBasedImmutabilityPolicy_ThatLetsAppendsIn()
    {
        var (module, policy) = infra.One("Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies");
        var properties = policy["properties"]!;
        // Protected append writes: checkpoints are appended to blobs that can be neither changed nor deleted.
        Assert.True(properties["allowProtectedAppendWrites"]?.GetValue<bool>(), "The audit container's immutability policy must allow protected append writes.");
        Assert.Equal("[parameters('wormRetentionDays')]", properties["immutabilityPeriodSinceCreationInDays"]?.GetValue<string>());
        Assert.Equal("[parameters('auditRetentionDays')]", module.Argument("wormRetentionDays"));
        // The container is the one the code appends checkpoints to.
        var container = module.Argument("wormContainerName")!;
        Assert.Contains($"{Agentic.Azure.BlobCheckpointStore.ContainerSuffix}", infra.Template["variables"]!["auditContainerName"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("auditContainerName", container, StringComparison.Ordinal);
        // And the audit table is provisioned with the other tables.
        Assert.Contains(infra.Template["variables"]!["agenticTableNames"]!.AsArray(), t => t!.GetValue<string>().Contains("'{0}" + Agentic.Azure.TableAuditStore.TableSuffix + "'", StringComparison.Ordinal));
    }

    [Fact]
    public void EveryTableTheStoresWrite_IsProvisioned()
    {
        // Each table store names its table by a TableSuffix constant after the hub.
        var suffixes = typeof(Agentic.Azure.TableAuditStore).Assembly.GetTypes()
            .Select(t => t.GetField("TableSuffix", System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static))
            .Where(f => f is { IsLiteral: true })
            .Select(f => (string)f!.GetRawConstantValue()!)
            .ToList();
        var tables = infra.Template["variables"]!["agenticTableNames"]!.AsArray().Select(t => t!.GetValue<string>()).ToList();

        Assert.True(suffixes.Count >= 7, string.Join(", ", suffixes));
        Assert.All(suffixes, suffix => Assert.Contains(tables, t => t.Contains("'{0}" + suffix + "'", StringComparison.Ordinal)));
    }

    [Fact]
    public void FunctionApp_HasEverySettingTheCodeRequires()
    {
        var settings = AppSettings();
        var required = functions.Code.Options
            .SelectMany(o => o.Properties.Where(p => p.Required).Select(p => (Setting: Setting(o.Section + ":" + p.Name), o.Type)))
            .ToList();
        Assert.NotEmpty(required);

        var missing = required.Where(r => !settings.ContainsKey(r.Setting)).Select(r => $"{r.Setting} ([Required] in {r.Type})").ToList();

        Assert.True(missing.Count == 0, "The Function App's settings (infra/app/api.bicep) lack what the code requires:\n  " + string.Join("\n  ", missing));
        // Key Vault is where the app's tool secrets come from in Azure: the vault infra/ deploys, read as the app's identity.
        Assert.Contains(Setting(Agentic.Azure.KeyVaultSecretProvider.UriSetting), settings.Keys);
        Assert.Contains(Setting(Agentic.Azure.KeyVaultSecretProvider.ClientIdSetting), settings.Keys);
    }

    [Fact]
    public void FunctionApp_ConnectsToStorageWithItsIdentity_OnEveryConnectionTheCodeNames()
    {
        var settings = AppSettings();
        var identity = AppIdentityDeployment();
        var connections = Connections(settings);
        Assert.Contains("AgenticStorage", connections.Keys);

        foreach (var (name, (services, users)) in connections)
        {
            var why = $"connection '{name}' ({string.Join(", ", users)})";
            // A connection string would carry an account key, and the account has shared keys off.
            Assert.False(settings.ContainsKey(name), $"{why} is a connection string; the storage account takes identities only.");
            Assert.True(settings.TryGetValue(name + "__credential", out var credential) && credential == "managedidentity",
                $"{why} needs {name}__credential = managedidentity.");
            Assert.True(settings.TryGetValue(name + "__clientId", out var clientId) && CompiledInfra.DeploymentReferenced(Api.Resolve(clientId)) == identity,
                $"{why} needs {name}__clientId = the client id of the identity the app runs as ({identity}).");
            foreach (var service in services)
            {
                Assert.True(settings.ContainsKey($"{name}__{service}ServiceUri") || settings.ContainsKey(name + "__accountName"),
                    $"{why} uses {service}s and needs {name}__{service}ServiceUri (or {name}__accountName).");
            }
        }
    }

    [Fact]
    public void FunctionApp_SetsNoAgenticSettingTheCodeDoesNotRead()
    {
        var settings = AppSettings();
        var code = functions.Code;

        var unread = settings.Keys
            .Where(k => k.StartsWith("Agentic__", StringComparison.Ordinal) && !code.Reads(k.Replace("__", ":", StringComparison.Ordinal)))
            .ToList();

        // A misspelt name (Agentic__KeyVaultUri for Agentic:KeyVault:Uri) is a setting nothing reads, and a default silently in force.
        Assert.True(unread.Count == 0, "App settings no code reads (a misspelling?):\n  " + string.Join("\n  ", unread));
    }

    [Fact]
    public void FunctionApp_RunsAsProduction()
    {
        var settings = AppSettings();
        Assert.True(settings.TryGetValue("Agentic__Environment", out var environment), "Agentic__Environment is not set.");
        // A literal, not a parameter: nobody provisioning can turn the Azure host into a dev environment by accident.
        Assert.Equal("prod", environment);
    }

    [Fact]
    public void FunctionAppIdentity_HoldsEveryDataRoleTheAppNeeds_OnTheResourcesItUses()
    {
        var settings = AppSettings();
        var identity = AppIdentityDeployment();
        var storage = CompiledInfra.DeploymentReferenced(Api.Argument("storageAccountName")!);
        var vault = CompiledInfra.DeploymentReferenced(Api.Resolve(settings[Setting(Agentic.Azure.KeyVaultSecretProvider.UriSetting)]));
        Assert.NotNull(storage);
        Assert.NotNull(vault);

        var granted = Assignments().Where(a => a.Principal == identity).ToList();
        var needed = Connections(settings).Values.SelectMany(c => c.Services).Distinct()
            .Select(service => (Service: service, Scope: ("Microsoft.Storage/storageAccounts", storage)))
            .Append(("secrets", ("Microsoft.KeyVault/vaults", vault)))
            .ToList();

        var rbacSource = File.ReadAllLines(Path.Combine(Repo.Root, "infra", "app", "rbac.bicep"));
        foreach (var (service, (scopeType, scope)) in needed)
        {
            var roles = DataRoles[service];
            var grant = granted.FirstOrDefault(a => a.ScopeType == scopeType && a.Scope == scope && roles.Any(r => r.Id == a.Role));
            Assert.True(grant is not null,
                $"The app's identity ({identity}) has no {string.Join(" or ", roles.Select(r => r.Name))} on {scopeType} '{scope}', needed for {service}s. It has:\n  "
                + string.Join("\n  ", granted.Select(a => $"{a.Role} on {a.ScopeType} '{a.Scope}'")));
            Assert.True(grant.Unconditional, $"The {service} role assignment of the app's identity is conditional: the app always needs it.");
            // rbac.bicep names each role beside its id, so a reader can check the id against Azure's list.
            var role = roles.First(r => r.Id == grant.Role);
            Assert.Contains(rbacSource, line => line.Contains(role.Id, StringComparison.OrdinalIgnoreCase) && line.TrimEnd().EndsWith("// " + role.Name, StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Dashboard_IsServedByTheFunctionsApp_BehindAppServiceSignIn()
    {
        // The Functions app serves the dashboard (the Dashboard function over DashboardApi), so the published app must
        // carry the assets, embedded in Agentic.Runtime as the local host serves them.
        var resolver = new System.Reflection.PathAssemblyResolver(Directory.GetFiles(functions.Folder, "*.dll")
            .Concat(Directory.GetFiles(System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory(), "*.dll")));
        using (var context = new System.Reflection.MetadataLoadContext(resolver))
        {
            var resources = context.LoadFromAssemblyPath(Path.Combine(functions.Folder, "Agentic.Runtime.dll")).GetManifestResourceNames();
            var shipped = Directory.GetFiles(Path.Combine(Repo.Root, "dashboard"), "*", SearchOption.AllDirectories)
                .Select(f => "dashboard/" + Path.GetRelativePath(Path.Combine(Repo.Root, "dashboard"), f).Replace('\\', '/'));
            Assert.Equal(shipped.Order(StringComparer.Ordinal), resources.Where(r => r.StartsWith("dashboard/", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        }

        // Its function takes no key (a browser sends none with a page's scripts), so App Service authentication must hold
        // it: authentication required and no excluded path but health (the other test checks the list exactly).
        var (_, auth) = infra.One("Microsoft.Web/sites/config", "authsettingsV2");
        var validation = auth["properties"]!["globalValidation"]!;
        Assert.True(validation["requireAuthentication"]!.GetValue<bool>());
        Assert.DoesNotContain(validation["excludedPaths"]!.AsArray(), p => p!.GetValue<string>().Contains("dashboard", StringComparison.OrdinalIgnoreCase));

        // People sign in through the browser: the postprovision hook (which azure.yaml runs) registers the app's callback
        // and ID tokens on the app registration, once the app's host name is known.
        var hook = File.ReadAllLines(Path.Combine(Repo.Root, "infra", "hooks", "postprovision.sh"));
        Assert.Contains(hook, l => l.TrimStart().StartsWith("az ad app update", StringComparison.Ordinal)
            && l.Contains("--web-redirect-uris \"$callback\"", StringComparison.Ordinal) && l.Contains("--enable-id-token-issuance true", StringComparison.Ordinal));
        Assert.Contains(hook, l => l.Trim() == "callback=\"$SERVICE_API_URI/.auth/login/aad/callback\"");
        Assert.Contains("run: ./infra/hooks/postprovision.sh", File.ReadAllText(Path.Combine(Repo.Root, "azure.yaml")), StringComparison.Ordinal);
    }

    [Fact]
    public void AppServiceAuthentication_AnswersUnauthenticatedCalls401_WithEntraIdForTheAppsRegistration()
    {
        var (module, auth) = infra.One("Microsoft.Web/sites/config", "authsettingsV2");
        var properties = auth["properties"]!;
        var settings = AppSettings();

        Assert.True(properties["platform"]?["enabled"]?.GetValue<bool>(), "App Service authentication is off.");
        Assert.True(properties["globalValidation"]?["requireAuthentication"]?.GetValue<bool>(), "App Service authentication lets unauthenticated calls through.");
        Assert.Equal("Return401", properties["globalValidation"]?["unauthenticatedClientAction"]?.GetValue<string>());
        // Only the route the code serves anonymously skips the platform's check; every other route needs a token.
        Assert.Equal([Runtime.Http.Identity.AgenticAuthentication.HealthPath],
            (properties["globalValidation"]?["excludedPaths"]?.AsArray() ?? []).Select(p => p!.GetValue<string>()));
        var entra = properties["identityProviders"]?["azureActiveDirectory"];
        Assert.NotNull(entra);
        Assert.True(entra["enabled"]?.GetValue<bool>(), "The Entra ID provider is off.");
        Assert.Single(properties["identityProviders"]!.AsObject());

        // The platform and the code check tokens for one app registration, from one issuer: the main.bicep parameter the
        // preprovision hook fills in.
        var clientId = module.Resolve(entra["registration"]!["clientId"]!.GetValue<string>());
        Assert.Equal("[parameters('authClientId')]", clientId);
        Assert.Equal(clientId, module.Resolve(settings["Agentic__Auth__Jwt__Audience"]));
        Assert.Equal(settings["Agentic__Auth__Jwt__Authority"], entra["registration"]!["openIdIssuer"]!.GetValue<string>());
        Assert.Contains(entra["validation"]!["allowedAudiences"]!.AsArray(), a => module.Resolve(a!.GetValue<string>()) == clientId);
        // Entra ID's v2.0 issuer of the tenant, from the cloud's own login endpoint.
        var authority = module.Template["variables"]!["authority"]!.GetValue<string>();
        Assert.Contains("environment().authentication.loginEndpoint", authority, StringComparison.Ordinal);
        Assert.Contains("/v2.0", authority, StringComparison.Ordinal);
    }

    [Fact]
    public void Infra_KeepsTheAzdConventions_AndIdentityOnlyStorage()
    {
        var outputs = infra.Template["outputs"]!.AsObject().Select(o => o.Key).ToList();
        Assert.NotEmpty(outputs);
        Assert.All(outputs, o => Assert.Matches(UpperSnake(), o));
        Assert.NotNull(infra.Template["variables"]?["tags"]?["azd-env-name"]);

        var (_, account) = infra.One("Microsoft.Storage/storageAccounts");
        Assert.False(account["properties"]!["allowSharedKeyAccess"]!.GetValue<bool>(), "Storage must take identities only (allowSharedKeyAccess: false).");
        var (_, site) = infra.One("Microsoft.Web/sites");
        Assert.Contains("azd-service-name", site["tags"]!.ToJsonString(), StringComparison.Ordinal);
    }

    // The compiled module that holds the Function App (infra/app/api.bicep).
    private BicepModule Api => infra.One("Microsoft.Web/sites").Module;

    // The Function App's settings: name -> value (a literal, or an ARM expression).
    private Dictionary<string, string> AppSettings()
    {
        var (_, config) = infra.One("Microsoft.Web/sites/config", "appsettings");
        Assert.IsType<JsonObject>(config["properties"]);
        return config["properties"]!.AsObject().ToDictionary(p => p.Key, p => p.Value is JsonValue v && v.TryGetValue<string>(out var s) ? s : p.Value!.ToJsonString(), StringComparer.Ordinal);
    }

    // The module deployment of the identity the Function App runs as (its only user-assigned identity).
    private string AppIdentityDeployment()
    {
        var (module, site) = infra.One("Microsoft.Web/sites");
        Assert.Equal("UserAssigned", site["identity"]!["type"]!.GetValue<string>());
        var identities = site["identity"]!["userAssignedIdentities"]!.AsObject().Select(p => p.Key).ToList();
        Assert.Single(identities);
        return CompiledInfra.DeploymentReferenced(module.Resolve(identities[0]))
            ?? throw new InvalidOperationException($"The app's identity {identities[0]} does not come from a module of main.bicep.");
    }

    // Each storage connection the code names, the services it uses there and who uses it: the queue trigger's connection
    // (functions.metadata), Durable Functions' (host.json), the options naming one (a [Required] *Connection member, by its
    // value in the settings) and the Functions host's own.
    private Dictionary<string, (HashSet<string> Services, List<string> Users)> Connections(Dictionary<string, string> settings)
    {
        var connections = new Dictionary<string, (HashSet<string> Services, List<string> Users)>(StringComparer.Ordinal);
        void Use(string name, string user, params string[] services)
        {
            if (!connections.TryGetValue(name, out var c))
            {
                connections[name] = c = ([], []);
            }
            c.Services.UnionWith(services);
            c.Users.Add(user);
        }
        foreach (var f in functions.Functions)
        {
            foreach (var binding in f.Bindings.Where(b => b["connection"] is not null))
            {
                var type = binding["type"]!.GetValue<string>();
                var service = type.StartsWith("queue", StringComparison.OrdinalIgnoreCase) ? "queue"
                    : type.StartsWith("blob", StringComparison.OrdinalIgnoreCase) ? "blob"
                    : type.StartsWith("table", StringComparison.OrdinalIgnoreCase) ? "table"
                    : throw new InvalidOperationException($"{f.Name}: a {type} binding's connection; teach this test which storage service it uses.");
                Use(binding["connection"]!.GetValue<string>(), $"{f.Name} {type}", service);
            }
        }
        if (functions.HostJson["extensions"]?["durableTask"]?["storageProvider"]?["connectionName"]?.GetValue<string>() is { } durable)
        {
            // The Azure Storage provider keeps work items and control messages in queues, history in tables, leases in blobs.
            Use(durable, "host.json durableTask", "blob", "queue", "table");
        }
        foreach (var o in functions.Code.Options)
        {
            foreach (var p in o.Properties.Where(p => p.Required && p.Name.EndsWith("Connection", StringComparison.Ordinal)))
            {
                Assert.True(settings.TryGetValue(Setting(o.Section + ":" + p.Name), out var name), $"{Setting(o.Section + ":" + p.Name)} is not set.");
                // StorageClients builds a queue, a table and a blob client on it.
                Use(name, $"{o.Type}.{p.Name}", "blob", "queue", "table");
            }
        }
        Use(HostStorage, "the Functions host", "blob");
        return connections;
    }

    // Every role assignment in infra/, with its principal, role id and scope resolved to the modules they come from.
    private IEnumerable<Assignment> Assignments()
    {
        foreach (var module in infra.Modules)
        {
            foreach (var r in CompiledInfra.Resources(module.Template).Where(r => CompiledInfra.Type(r) == "Microsoft.Authorization/roleAssignments"))
            {
                var properties = r["properties"]!;
                var principal = CompiledInfra.DeploymentReferenced(module.Resolve(properties["principalId"]!.GetValue<string>()));
                var definition = properties["roleDefinitionId"]!.GetValue<string>();
                var role = VariableReference().Match(definition) is { Success: true } v ? module.Variable(v.Groups[1].Value)?.GetValue<string>() : GuidText().Match(definition).Value;
                var scope = ScopeReference().Match(r["scope"]?.GetValue<string>() ?? "");
                yield return new Assignment(
                    principal,
                    role,
                    scope.Success ? scope.Groups[1].Value : null,
                    scope.Success && module.Argument(scope.Groups[2].Value) is { } name ? CompiledInfra.DeploymentReferenced(name) : null,
                    r["condition"] is null);
            }
        }
    }

    private static string Setting(string configurationKey) => configurationKey.Replace(":", "__", StringComparison.Ordinal);

    private sealed record Assignment(string? Principal, string? Role, string? ScopeType, string? Scope, bool Unconditional);

    [GeneratedRegex(@"variables\('([^']+)'\)")]
    private static partial Regex VariableReference();

    [GeneratedRegex(@"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")]
    private static partial Regex GuidText();

    [GeneratedRegex(@"^\[resourceId\('([^']+)',\s*parameters\('([^']+)'\)\)\]$")]
    private static partial Regex ScopeReference();

    [GeneratedRegex("^[A-Z][A-Z0-9_]*$")]
    private static partial Regex UpperSnake();
}
