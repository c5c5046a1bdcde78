using System.Text.Json;
using Agentic.Core.Activities;
using Agentic.Core.Agents;
using Agentic.Core.Governance;
using Agentic.Core.Json;
using Agentic.Core.Tests.Tools;
using Agentic.Core.Tools;

namespace Agentic.Core.Tests.Governance;

/// <summary>What the act activity enforces beyond the decision: quorum, kill switches during the call, compensation.</summary>
public sealed class ActGovernanceTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private readonly Agentic.Testing.AuditingDecisionStore _decisions = new(new MemoryDecisionStore(), Agentic.Testing.TestAudit.InMemoryLog());
    private readonly MemoryLedger _ledger = new();
    private readonly MemoryControls _controls = new();

    private static ToolDescriptor Scale => SampleServiceTools.Descriptors.Single(d => d.Name == "sample.scale");

    private ActActivity Act(ITool tool, TimeSpan? watchInterval = null) =>
        new(new ToolRegistry([tool]), new ToolExecutor(new NoSecrets(), TimeProvider.System), _decisions, _ledger, _controls,
            new ControlWatch(_controls, TimeProvider.System, watchInterval ?? TimeSpan.FromMilliseconds(50)), _decisions.Audit, TimeProvider.System, Agentic.Core.Agents.AgentCatalog.Default);

    private async Task<ActInput> DecidedAsync(ToolDescriptor tool, string arguments, GateEffect effect, ApprovalTerms? terms = null, string? toolHash = null)
    {
        var args = TestJson.Parse(arguments);
        var digest = AgenticJson.Digest(args);
        var decision = new GateDecision("run-1", "s1", tool.Name, tool.Version, digest, effect, "p", "1", "rule", "test", terms?.Role, DateTimeOffset.UnixEpoch) { Approval = terms, ToolHash = toolHash };
        await _decisions.RecordDecisionAsync(decision, Ct);
        return new ActInput("run-1", "s1", "http://fleet/services/a", tool.Name, args, digest, decision, null, "scaler");
    }

    private static async Task<ActResult> RunAsync(ActActivity act, ActInput input) =>
        AgenticJson.FromElement<ActResult>(await act.RunAsync(AgenticJson.ToElement(input), new ActivityContext("run-1", "c1", 1), Ct));

    private Task<ApprovalDecision> ApproveAsync(string approver, string digest, string role = "operator", string decision = "approve") =>
        _decisions.RecordApprovalAsync("run-1", "s1", new ApprovalDecision(decision, approver, [role], digest, null, DateTimeOffset.UnixEpoch), Ct);

    [Fact]
    public async Task AQuorumOfTwo_WithOneApprovalRecorded_RefusesToAct()
    {
        var tool = new FakeTool(Scale, TestJson.Parse("""{"replicas":0}"""));
        var input = await DecidedAsync(Scale, """{"replicas":0}""", GateEffect.RequireApproval, new ApprovalTerms("operator", 2));
        await ApproveAsync("bob", input.ArgsDigest);

        var ex = await Assert.ThrowsAsync<NonRetryableException>(() => RunAsync(Act(tool), input));

        Assert.Equal($"Step s1 requires 2 approval(s) for {input.ArgsDigest}; 1 recorded: refusing to act.", ex.Message);
        Assert.Equal(0, tool.Calls);
    }

    [Fact]
    public async Task AQuorumOfTwo_CountsDistinctApproversWithTheRole_ForTheseArguments()
    {
        var tool = new FakeTool(Scale, TestJson.Parse("""{"replicas":0}"""));
        var input = await DecidedAsync(Scale, """{"replicas":0}""", GateEffect.RequireApproval, new ApprovalTerms("operator", 2, EscalateTo: "admin"));
        await ApproveAsync("bob", input.ArgsDigest);
        await ApproveAsync("carol", input.ArgsDigest, role: "viewer");
        await ApproveAsync("dave", "sha256:other");

        await Assert.ThrowsAsync<NonRetryableException>(() => RunAsync(Act(tool), input));
        await ApproveAsync("erin", input.ArgsDigest, role: "admin"); // the escalation role counts too

        await RunAsync(Act(tool), input);
        Assert.Equal(1, tool.Calls);
    }

    [Fact]
    public async Task ARecordedRejection_RefusesToAct_EvenWithAQuorum()
    {
        var tool = new FakeTool(Scale, TestJson.Parse("""{"replicas":0}"""));
        var input = await DecidedAsync(Scale, """{"replicas":0}""", GateEffect.RequireApproval, new ApprovalTerms("operator", 1));
        await ApproveAsync("bob", input.ArgsDigest);
        await ApproveAsync("erin", input.ArgsDigest, decision: "reject");

        var ex = await Assert.ThrowsAsync<NonRetryableException>(() => RunAsync(Act(tool), input));

        Assert.Equal("Step s1 was rejected by erin: refusing to act.", ex.Message);
    }

    [Fact]
    public async Task ADescriptorChangedSinceTheDecision_IsNotCoveredByIt()
    {
        var input = await DecidedAsync(Scale, """{"replicas":3}""", GateEffect.Permit, toolHash: Scale.Hash);
        var changed = Scale with { Version = "9.9.9", Risk = RiskLevel.Critical };
        var tool = new FakeTool(changed, TestJson.Parse("""{"replicas":3}"""));

        var ex = await Assert.ThrowsAsync<NonRetryableException>(() => RunAsync(Act(tool), input));

        Assert.StartsWith("The contract of sample.scale changed since step s1 was decided (1.2.0 sha256:", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, tool.Calls);
    }

    [Fact]
    public async Task AnApprovalGivenForAnotherContract_DoesNotCount()
    {
        var tool = new FakeTool(Scale, TestJson.Parse("""{"replicas":0}"""));
        var input = await DecidedAsync(Scale, """{"replicas":0}""", GateEffect.RequireApproval, new ApprovalTerms("operator", 1), Scale.Hash);
        await _decisions.RecordApprovalAsync("run-1", "s1", new ApprovalDecision("approve", "bob", ["operator"], input.ArgsDigest, null, DateTimeOffset.UnixEpoch) { ToolHash = "sha256:old" }, Ct);

        await Assert.ThrowsAsync<NonRetryableException>(() => RunAsync(Act(tool), input));
        await _decisions.RecordApprovalAsync("run-1", "s1", new ApprovalDecision("approve", "erin", ["operator"], input.ArgsDigest, null, DateTimeOffset.UnixEpoch) { ToolHash = Scale.Hash }, Ct);

        await RunAsync(Act(tool), input);
        Assert.Equal(1, tool.Calls);
    }

    [Fact]
    public async Task AKillSwitchEngagedDuringTheCall_CancelsIt_AndNamesTheControl()
    {
        var tool = new BlockingTool(Scale);
        var input = await DecidedAsync(Scale, """{"replicas":3}""", GateEffect.Permit);
        var act = Act(tool);

        var running = RunAsync(act, input);
        await tool.Started.Task.WaitAsync(TimeSpan.FromSeconds(5), Ct);
        await _controls.EngageAsync(ControlScope.Agent, "scaler", ControlKind.KillSwitch, "runaway scaling", "admin-ann", Ct);

        var ex = await Assert.ThrowsAsync<NonRetryableException>(() => running.WaitAsync(TimeSpan.FromSeconds(5), Ct));
        Assert.Equal("Cancelled in flight by kill-switch:agent:scaler, engaged by admin-ann: runaway scaling", ex.Message);
        Assert.True(tool.Cancelled);
    }

    [Fact]
    public async Task AControlOnAnotherTool_DoesNotCancelTheCall()
    {
        var tool = new BlockingTool(Scale);
        var input = await DecidedAsync(Scale, """{"replicas":3}""", GateEffect.Permit);
        var act = Act(tool);

        var running = RunAsync(act, input);
        await tool.Started.Task.WaitAsync(TimeSpan.FromSeconds(5), Ct);
        await _controls.EngageAsync(ControlScope.Tool, "sample.restart", ControlKind.Quarantine, "flaky", "admin-ann", Ct);
        await Task.Delay(300, Ct);
        tool.Release.SetResult();

        var result = await running.WaitAsync(TimeSpan.FromSeconds(5), Ct);
        Assert.False(tool.Cancelled);
        Assert.Equal("sample.scale", result.Tool);
    }

    [Fact]
    public async Task TheWatch_PollsOnlyWhileCallsAreInFlight()
    {
        var watch = new ControlWatch(_controls, TimeProvider.System, TimeSpan.FromMilliseconds(20));
        await Task.Delay(200, Ct);
        Assert.Equal(0, watch.Polls);

        using (watch.Watch("a", "t", _ => { }))
        {
            await Task.Delay(200, Ct);
        }
        var polls = watch.Polls;
        Assert.True(polls > 0);
        await Task.Delay(200, Ct);
        Assert.InRange(watch.Polls, polls, polls + 1);
    }

    [Theory]
    [InlineData("sample.scale", true)]
    [InlineData("sample.restart", false)]
    public async Task AReversibleToolsOutcome_CarriesItsCompensation_OnlyToItsOwnCompensatingTool(string compensatingTool, bool kept)
    {
        var undo = new CompensationCall(compensatingTool, TestJson.Parse("""{"replicas":2}"""));
        var input = await DecidedAsync(Scale, """{"replicas":3}""", GateEffect.Permit);

        var result = await RunAsync(Act(new CompensatingTool(Scale, undo)), input);

        Assert.Equal(kept, result.Compensation is not null);
    }

    /// <summary>A tool whose call waits until released or cancelled.</summary>
    private sealed class BlockingTool(ToolDescriptor descriptor) : ITool
    {
        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool Cancelled { get; private set; }

        public ToolDescriptor Descriptor => descriptor;

        public async Task<ToolOutcome> InvokeAsync(ToolCall invocation, CancellationToken cancellationToken)
        {
            Started.TrySetResult();
            try
            {
                await Release.Task.WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                Cancelled = true;
                throw;
            }
            return new ToolOutcome(200, "scaled", JsonDocument.Parse("""{"replicas":3}""").RootElement.Clone());
        }
    }

    private sealed class CompensatingTool(ToolDescriptor descriptor, CompensationCall compensation) : ITool
    {
        public ToolDescriptor Descriptor => descriptor;

        public Task<ToolOutcome> InvokeAsync(ToolCall invocation, CancellationToken cancellationToken) =>
            Task.FromResult(new ToolOutcome(200, "scaled", JsonDocument.Parse("""{"replicas":3}""").RootElement.Clone()) { Compensation = compensation });
    }
}

/// <summary>An <see cref="IControlStore"/> in memory.</summary>
internal sealed class MemoryControls : IControlStore
{
    private readonly List<ControlState> _active = [];

    public Task<ControlState> EngageAsync(ControlScope scope, string? target, ControlKind kind, string reason, string by, CancellationToken cancellationToken)
    {
        var state = new ControlState(scope, target, kind, reason, by, DateTimeOffset.UtcNow);
        lock (_active)
        {
            _active.RemoveAll(c => c.Rule == state.Rule);
            _active.Add(state);
        }
        return Task.FromResult(state);
    }

    public Task<bool> ReleaseAsync(ControlScope scope, string? target, ControlKind kind, string reason, string by, CancellationToken cancellationToken)
    {
        lock (_active)
        {
            return Task.FromResult(_active.RemoveAll(c => c.Rule == Controls.Rule(scope, target, kind)) > 0);
        }
    }

    public Task<IReadOnlyList<ControlState>> GetActiveAsync(string agent, string tool, CancellationToken cancellationToken)
    {
        lock (_active)
        {
            return Task.FromResult<IReadOnlyList<ControlState>>([.. _active.Where(c => Controls.AppliesTo(c, agent, tool))]);
        }
    }

    public Task<IReadOnlyList<ControlState>> ListActiveAsync(CancellationToken cancellationToken)
    {
        lock (_active)
        {
            return Task.FromResult<IReadOnlyList<ControlState>>([.. _active]);
        }
    }

    public Task<IReadOnlyList<ControlEvent>> HistoryAsync(int max, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<ControlEvent>>([]);
}
