using Agentic.Testing;

namespace Agentic.EndToEnd.Tests.Support;

/// <summary>
/// The dashboard's host with a monitor on: the agents the dashboard tests run (service-healer, diagnostics) from a
/// directory of their own, and beside them the monitor <see cref="Monitor"/>, which probes the fleet's
/// <see cref="Service"/> every second and asks service-healer to fix it while it is unhealthy. The service starts degraded.
/// </summary>
public sealed class MonitoredDashboardHost(AzuriteFixture storage) : DashboardHost(storage)
{
    /// <summary>The monitor's name.</summary>
    public const string Monitor = "watch";

    /// <summary>The fleet service it watches.</summary>
    public const string Service = "watched";

    /// <summary>The principal its runs are requested by.</summary>
    public const string Principal = "monitor:" + Monitor;

    private readonly DirectoryInfo _agents = Directory.CreateTempSubdirectory("agentic-e2e-dash-monitors-");

    /// <inheritdoc />
    protected override async Task<IReadOnlyDictionary<string, string?>?> SettingsAsync(SampleFleet fleet)
    {
        await fleet.DegradeAsync(Service);
        foreach (var agent in new[] { "service-healer.yaml", "diagnostics.yaml" })
        {
            File.Copy(Path.Combine(Repo.Root, "agents", agent), Path.Combine(_agents.FullName, agent));
        }
        // With the data contracts their signals name, beside them as in agents/.
        Directory.CreateDirectory(Path.Combine(_agents.FullName, "schemas"));
        foreach (var schema in Directory.EnumerateFiles(Path.Combine(Repo.Root, "agents", "schemas")))
        {
            File.Copy(schema, Path.Combine(_agents.FullName, "schemas", Path.GetFileName(schema)));
        }
        Directory.CreateDirectory(Path.Combine(_agents.FullName, "monitors"));
        await File.WriteAllTextAsync(Path.Combine(_agents.FullName, "monitors", Monitor + ".yaml"), $"""
            name: {Monitor}
            description: Heals the watched fleet service.
            schedule: "* * * * * *"
            target: {fleet.Target(Service)}
            when: "!observation.healthy"
            agent: service-healer
            goal: Keep the watched service healthy.
            cooldown: 10m
            """);
        return new Dictionary<string, string?> { ["Agentic__Agents__Path"] = _agents.FullName };
    }

    /// <inheritdoc />
    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        _agents.Delete(recursive: true);
    }
}
