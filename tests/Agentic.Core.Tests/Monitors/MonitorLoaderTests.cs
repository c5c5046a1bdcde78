using Agentic.Core.Agents;
using Agentic.Core.Monitors;
using Agentic.Core.Tests.Runs;

namespace Agentic.Core.Tests.Monitors;

/// <summary>Monitor YAML: what loads, and every problem named with file, line and column.</summary>
public sealed class MonitorLoaderTests
{
    private const string Valid = """
        name: checkout
        description: Probes checkout.
        schedule: "*/30 * * * * *"
        target: http://svc.test/services/checkout
        signal: { kind: http-probe, path: api/status, timeout: 5s }
        when: "!observation.healthy && observation.status != 'maintenance'"
        incident: ${monitor.name}/${observation.status}
        agent: service-healer
        goal: Keep checkout healthy.
        cooldown: 15m
        """;

    private static MonitorLoadException Fails(string yaml) =>
        Assert.Throws<MonitorLoadException>(() => MonitorLoader.Load(yaml, "agents/monitors/m.yaml"));

    [Fact]
    public void ValidMonitor_LoadsEveryField()
    {
        var monitor = MonitorLoader.Load(Valid, "agents/monitors/checkout.yaml");

        Assert.Equal(("checkout", "*/30 * * * * *", "service-healer", "http://svc.test/services/checkout"), (monitor.Name, monitor.Schedule.Text, monitor.Agent, monitor.Target));
        Assert.True(monitor.Enabled);
        Assert.Equal(new HttpProbeSource("api/status", TimeSpan.FromSeconds(5)), monitor.Signal);
        Assert.Equal(TimeSpan.FromMinutes(15), monitor.Cooldown);
        Assert.Equal("monitor:checkout", monitor.Principal);
        Assert.Equal("Keep checkout healthy.", monitor.Goal);
        Assert.Equal("agents/monitors/checkout.yaml", monitor.Source);
    }

    [Fact]
    public void MonitorWithoutOptionalKeys_ProbesHealth_KeysIncidentsBySource_AndCoolsDownTenMinutes()
    {
        var monitor = MonitorLoader.Load("""
            name: m
            description: d
            schedule: 0 */5 * * * *
            target: http://svc.test/services/a
            when: "!observation.healthy"
            agent: service-healer
            """, "m.yaml");

        Assert.Equal(HttpProbeSource.Health, monitor.Signal);
        Assert.Equal(MonitorDefinition.DefaultIncident, monitor.Incident);
        Assert.Equal(TimeSpan.FromMinutes(10), monitor.Cooldown);
        Assert.Null(monitor.Goal);
    }

    [Theory]
    [InlineData("schedule: \"*/5 * * * *\"", 3, 11, "invalid-schedule", "has 5 fields; a schedule is NCRONTAB with six")]
    [InlineData("schedule: \"0 0 25 * * *\"", 3, 11, "invalid-schedule", "is not a valid NCRONTAB schedule")]
    [InlineData("signal: { kind: queue-length }", 5, 17, "invalid-value", "unknown signal kind 'queue-length' in the signal of monitor 'm'")]
    [InlineData("when: observation.healty", 6, 7, "unknown-attribute", "unknown attribute 'observation.healty' (did you mean 'observation.healthy'?)")]
    [InlineData("when: observation.status", 6, 7, "type-mismatch", "a condition must be a bool")]
    [InlineData("incident: ${run.id}", 7, 13, "unknown-attribute", "unknown attribute 'run.id'")]
    [InlineData("goal: Fix ${observation.status}", 9, 7, "invalid-value", "is a literal")]
    [InlineData("cooldown: 8d", 10, 11, "invalid-duration", "invalid cooldown '8d'")]
    [InlineData("target: http://svc.test/a?x=1", 4, 9, "invalid-value", "without a query")]
    [InlineData("colour: red", 11, 1, "unknown-key", "unknown key 'colour' in the monitor")]
    public void BadField_IsADiagnosticAtItsPosition(string line, int expectedLine, int column, string code, string message)
    {
        var fields = new List<string>
        {
            "name: m", "description: d", "schedule: \"*/30 * * * * *\"", "target: http://svc.test/services/a",
            "signal: { kind: http-probe }", "when: \"!observation.healthy\"", "incident: x", "agent: service-healer", "goal: g", "cooldown: 1m",
        };
        var key = line[..line.IndexOf(':', StringComparison.Ordinal)];
        var at = fields.FindIndex(f => f.StartsWith(key + ":", StringComparison.Ordinal));
        if (at >= 0)
        {
            fields[at] = line;
        }
        else
        {
            fields.Add(line);
        }

        var diagnostic = Assert.Single(Fails(string.Join('\n', fields)).Diagnostics);

        Assert.Equal(("agents/monitors/m.yaml", expectedLine, column, code), (diagnostic.File, diagnostic.Line, diagnostic.Column, diagnostic.Code));
        Assert.Contains(message, diagnostic.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingKeys_AreEachReported()
    {
        var diagnostics = Fails("name: m\ndescription: d\n").Diagnostics;

        Assert.Equal(
            ["missing required key 'agent' in the monitor", "missing required key 'schedule' in the monitor", "missing required key 'target' in the monitor", "missing required key 'when' in the monitor"],
            diagnostics.Select(d => d.Message).Order(StringComparer.Ordinal));
        Assert.All(diagnostics, d => Assert.Equal(("missing-key", 1, 1), (d.Code, d.Line, d.Column)));
    }

    [Fact]
    public void TwoMonitorsWithOneName_AreADuplicateAtTheSecond()
    {
        var yaml = "name: m\ndescription: d\nschedule: \"0 * * * * *\"\ntarget: http://svc.test/a\nwhen: \"!observation.healthy\"\nagent: service-healer\n";

        var diagnostic = Assert.Single(Assert.Throws<MonitorLoadException>(() => MonitorLoader.LoadAll([("a.yaml", yaml), ("b.yaml", yaml)])).Diagnostics);

        Assert.Equal(("b.yaml", 1, 7, "duplicate-monitor"), (diagnostic.File, diagnostic.Line, diagnostic.Column, diagnostic.Code));
        Assert.Equal("duplicate monitor name 'm' (first defined in a.yaml at line 1)", diagnostic.Message);
    }

    [Fact]
    public void Check_NamesAnUnknownAgent_AndAnEnabledMonitorsTargetThatIsNotAllowed()
    {
        var catalog = new MonitorCatalog(MonitorLoader.LoadAll(
        [
            ("a.yaml", "name: a\ndescription: d\nschedule: \"0 * * * * *\"\ntarget: http://svc.test/a\nwhen: \"!observation.healthy\"\nagent: service-heeler\n"),
            ("b.yaml", "name: b\ndescription: d\nschedule: \"0 * * * * *\"\ntarget: http://elsewhere.test/b\nwhen: \"!observation.healthy\"\nagent: service-healer\n"),
            ("c.yaml", "name: c\ndescription: d\nschedule: \"0 * * * * *\"\nenabled: false\ntarget: http://elsewhere.test/c\nwhen: \"!observation.healthy\"\nagent: service-healer\n"),
        ]));
        var admission = Admissions.Default;

        var problems = catalog.Check(AgentCatalog.Default, admission.Targets, m => m.Enabled);

        Assert.Equal(2, problems.Count);
        Assert.Equal(("a.yaml", 6, 8, "unknown-agent"), (problems[0].File, problems[0].Line, problems[0].Column, problems[0].Code));
        Assert.Equal("monitor 'a' runs agent 'service-heeler', which the deployment does not have (did you mean 'service-healer'?)", problems[0].Message);
        Assert.Equal(("b.yaml", 4, 9, "target-not-allowed"), (problems[1].File, problems[1].Line, problems[1].Column, problems[1].Code));
        Assert.StartsWith("monitor 'b' is enabled and its target is not a run target of agent 'service-healer'", problems[1].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ShippedMonitor_IsTheCheckoutWatch_OffByDefault_OverService_healer()
    {
        var checkout = MonitorCatalog.Default.Get("checkout");

        Assert.False(checkout.Enabled);
        Assert.Equal(("service-healer", "http://127.0.0.1:7072/services/checkout", "*/30 * * * * *"), (checkout.Agent, checkout.Target, checkout.Schedule.Text));
        Assert.Empty(MonitorCatalog.Default.Check(AgentCatalog.Default, Admissions.Default.Targets, m => m.Enabled));
        // The agent catalog never reads a monitor as an agent.
        Assert.DoesNotContain("checkout", AgentCatalog.Default.Names);
    }

    [Fact]
    public void Options_RefuseAnEnabledSettingForNoMonitor_AndABadEvaluationSchedule()
    {
        var options = new MonitorOptions { Schedule = "*/15 * * * *", TicksKept = 0 };
        options.Enabled["chekout"] = true;

        var problems = options.Validate(MonitorCatalog.Default);

        Assert.Equal(3, problems.Count);
        Assert.StartsWith("Agentic:Monitors:Schedule: '*/15 * * * *' has 5 fields", problems[0], StringComparison.Ordinal);
        Assert.Equal("Agentic:Monitors:TicksKept: 0 is not from 1 to 1000.", problems[1]);
        Assert.Equal("Agentic:Monitors:Enabled:chekout names no monitor (monitors: checkout).", problems[2]);
    }
}
