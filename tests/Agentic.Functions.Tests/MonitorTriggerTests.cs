using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;
using System.Text.Json.Nodes;
using Agentic.Core.Monitors;
using Agentic.Functions.Tests.Support;
using Agentic.Testing;

namespace Agentic.Functions.Tests;

// The monitors' timer as the Functions host will index it: one timer trigger whose schedule is the app setting
// Agentic__Monitors__Schedule (a binding expression, so the schedule is configuration, not code), over the bound Durable
// client, and its body is the shared scheduler's TickDueAsync, the code the local host's timer calls (read from the
// published assembly's IL, so a trigger that did its own ticking would fail here).
public sealed class MonitorTriggerTests(PublishedFunctionsApp functions, CompiledInfra infra)
{
    [Fact]
    public void MonitorTick_IsATimerOnTheSettingsBoundSchedule_OverTheBoundDurableClient()
    {
        var tick = Assert.Single(functions.Functions, f => f.Name == "MonitorTick");

        Assert.Equal("timerTrigger", tick.Trigger!["type"]!.GetValue<string>(), StringComparer.OrdinalIgnoreCase);
        Assert.Equal("%Agentic:Monitors:Schedule%", tick.Trigger["schedule"]!.GetValue<string>());
        Assert.Contains(tick.Bindings, b => string.Equals(b["type"]?.GetValue<string>(), "durableClient", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void MonitorTick_CallsTheSharedScheduler()
    {
        using var stream = File.OpenRead(Path.Combine(functions.Folder, "Agentic.Functions.dll"));
        using var pe = new PEReader(stream);
        var metadata = pe.GetMetadataReader();
        var type = metadata.TypeDefinitions.Select(metadata.GetTypeDefinition).Single(t => metadata.GetString(t.Name) == "MonitorFunctions");
        var method = type.GetMethods().Select(metadata.GetMethodDefinition).Single(m => metadata.GetString(m.Name) == "MonitorTick");
        var il = pe.GetMethodBody(method.RelativeVirtualAddress).GetILBytes()!;

        var called = new List<string>();
        for (var i = 0; i + 4 < il.Length; i++)
        {
            // call (0x28) and callvirt (0x6F) take a method token; a member reference names a method of another assembly.
            if (il[i] is 0x28 or 0x6F && MetadataTokens.EntityHandle(BitConverter.ToInt32(il, i + 1)) is { Kind: HandleKind.MemberReference } handle)
            {
                var member = metadata.GetMemberReference((MemberReferenceHandle)handle);
                if (member.Parent.Kind == HandleKind.TypeReference)
                {
                    var parent = metadata.GetTypeReference((TypeReferenceHandle)member.Parent);
                    called.Add($"{metadata.GetString(parent.Namespace)}.{metadata.GetString(parent.Name)}::{metadata.GetString(member.Name)}");
                }
            }
        }

        Assert.Contains($"{typeof(MonitorScheduler).FullName}::{nameof(MonitorScheduler.TickDueAsync)}", called);
    }

    [Fact]
    public void EveryHostSetsTheMonitorSchedule_ToASixFieldNcrontab()
    {
        var (_, config) = infra.One("Microsoft.Web/sites/config", "appsettings");
        var azure = config["properties"]!["Agentic__Monitors__Schedule"]?.GetValue<string>();
        var sample = JsonNode.Parse(File.ReadAllText(Path.Combine(Repo.Root, "local.settings.sample.json")))!["Values"]!["Agentic__Monitors__Schedule"]?.GetValue<string>();

        // Without it the Functions host can not resolve %Agentic:Monitors:Schedule% and indexes no function of the app.
        Assert.NotNull(MonitorSchedule.TryParse(azure, out var azureProblem));
        Assert.Null(azureProblem);
        Assert.NotNull(MonitorSchedule.TryParse(sample, out var sampleProblem));
        Assert.Null(sampleProblem);
    }
}
