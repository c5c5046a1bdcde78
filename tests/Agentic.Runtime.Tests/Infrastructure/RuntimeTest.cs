using System.Text.Json;
using Agentic.Core.Json;
using Agentic.Core.Runs;
using Agentic.Durable;
using Agentic.Runtime.Queues;
using Agentic.Testing;
using Azure.Storage.Queues;
using Microsoft.Extensions.DependencyInjection;

namespace Agentic.Runtime.Tests.Infrastructure;

/// <summary>
/// Base of the engine's integration tests: a fresh hub per test on the shared Azurite, the class's sample
/// fleet, and runtimes that are stopped and disposed when the test ends, whatever happened.
/// </summary>
public abstract class RuntimeTest(AzuriteFixture azurite, FleetFixture fleet) : IAsyncLifetime
{
    /// <summary>The approver the happy paths use: not the requester, and an operator.</summary>
    protected const string Approver = "bob";

    private readonly List<LocalRuntime> _runtimes = [];

    protected Azurite Azurite => azurite.Azurite;

    protected FleetFixture Fleet => fleet;

    /// <summary>This test's hub.</summary>
    protected string Hub { get; } = Hubs.New();

    /// <summary>The engine's tables and queues on this test's hub, as storage holds them.</summary>
    internal EngineHub EngineStorage => field ??= new(Azurite, Hub);

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A runtime on this test's hub, not started yet.</summary>
    internal LocalRuntime CreateRuntime(IReadOnlyDictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null)
    {
        // Runs may target the class's fleet, as a deployment's settings would allow it.
        var merged = new Dictionary<string, string?>(Fleet.Fleet.TargetSettings());
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            merged[key] = value;
        }
        var runtime = LocalRuntime.Create(Azurite, Hub, merged, services);
        _runtimes.Add(runtime);
        return runtime;
    }

    /// <summary>A started runtime on this test's hub.</summary>
    internal async Task<LocalRuntime> StartRuntimeAsync(IReadOnlyDictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null)
    {
        var runtime = CreateRuntime(settings, services);
        await runtime.StartAsync();
        return runtime;
    }

    /// <summary>Submits a request as a new run and returns its id.</summary>
    internal static async Task<string> SubmitAsync(LocalRuntime runtime, RunRequest request)
    {
        var (runId, created) = await runtime.Runs.SubmitAsync(request, Ct);
        Assert.True(created, $"Run {runId} already existed.");
        return runId;
    }

    /// <summary>Submits a service-healer run and waits until its restart (s2) waits for approval.</summary>
    internal async Task<string> SubmitHealerAwaitingApprovalAsync(LocalRuntime runtime, int? approvalTimeoutSeconds = null)
    {
        var runId = await SubmitAsync(runtime, Requests.Healer(await Fleet.DegradedTargetAsync(), approvalTimeoutSeconds));
        await runtime.WaitAwaitingApprovalAsync(runId, "s2");
        return runId;
    }

    /// <summary>Approves (or rejects) step <paramref name="stepId"/> as an operator other than the requester; the runtime must accept it.</summary>
    internal static async Task DecideAsync(LocalRuntime runtime, string runId, bool approve = true, string stepId = "s2", string comment = "looks right")
    {
        var result = await runtime.Runs.DecideAsync(runId, stepId, approve, comment, Approver, ["operator"], Ct);
        Assert.True(result.Refusal == ApprovalRefusal.None, $"The decision was refused: {result.Refusal} {result.Detail}");
    }

    /// <summary>Asserts the run completed with <paramref name="outcome"/>.</summary>
    internal static void AssertCompleted(AgentRun run, string outcome)
    {
        Assert.True(run.Status == "completed", LocalRuntime.Describe(run));
        Assert.Equal(outcome, run.View.Output?.Outcome);
    }

    /// <summary>Asserts the run failed for a reason containing every one of <paramref name="fragments"/>.</summary>
    internal static void AssertFailed(AgentRun run, params string[] fragments)
    {
        Assert.True(run.Status == "failed", LocalRuntime.Describe(run));
        var reason = run.View.FailureReason ?? "";
        foreach (var fragment in fragments)
        {
            Assert.Contains(fragment, reason, StringComparison.Ordinal);
        }
    }

    /// <summary>Asserts the fleet applied exactly one <paramref name="operation"/> for the run, under key "{runId}/{stepId}".</summary>
    internal async Task AssertAppliedOnceAsync(string runId, string stepId, string operation)
    {
        var effects = await Fleet.EffectsOfAsync(runId);
        var effect = Assert.Single(effects);
        Assert.Equal($"{runId}/{stepId}", effect.Key);
        Assert.Equal(operation, effect.Operation);
        Assert.Equal(1, effect.Applied);
    }

    /// <summary>Polls <paramref name="condition"/> until it holds; fails naming <paramref name="what"/> (and what <paramref name="describe"/> says) after the timeout.</summary>
    internal static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null, Func<Task<string>>? describe = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(30);
        var until = DateTime.UtcNow + limit;
        while (!await condition())
        {
            if (DateTime.UtcNow > until)
            {
                Assert.Fail($"Not {what} within {limit.TotalSeconds:0} s.{(describe is null ? "" : "\n" + await describe())}");
            }
            await Task.Delay(100, Ct);
        }
    }

    /// <summary>Waits until the fleet's side effect for <paramref name="runId"/> satisfies <paramref name="condition"/> (the call reached the fleet).</summary>
    internal async Task<SideEffect> WaitForEffectAsync(string runId, Func<SideEffect, bool> condition, string what)
    {
        SideEffect? found = null;
        await WaitUntilAsync(async () => (found = (await Fleet.EffectsOfAsync(runId)).FirstOrDefault(condition)) is not null, what,
            describe: async () => "The fleet saw: " + string.Join(", ", await Fleet.EffectsOfAsync(runId)));
        return found!;
    }

    /// <summary>Waits until a message matching <paramref name="match"/> is on <paramref name="poison"/>, and returns it.</summary>
    internal static async Task<PoisonMessage> WaitForPoisonAsync(QueueClient poison, Func<PoisonMessage, bool> match, string what)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        var seen = new List<PoisonMessage>();
        while (DateTime.UtcNow < until)
        {
            seen = await PeekPoisonAsync(poison);
            if (seen.FirstOrDefault(match) is { } found)
            {
                return found;
            }
            await Task.Delay(100, Ct);
        }
        Assert.Fail($"No message for {what} reached {poison.Name} within 30 s. It holds:\n{string.Join('\n', seen.Select(p => $"  {p.Reason} | {p.Message}"))}");
        return null!;
    }

    /// <summary>The records on a poison queue (peeked, left in place).</summary>
    internal static async Task<List<PoisonMessage>> PeekPoisonAsync(QueueClient poison)
    {
        var messages = (await poison.PeekMessagesAsync(32, Ct)).Value;
        return [.. messages.Select(m => JsonSerializer.Deserialize<PoisonMessage>(m.Body.ToString(), AgenticJson.Options)!)];
    }

    /// <summary>The ids of the runs on this test's hub, as the engine lists its instances.</summary>
    internal static async Task<List<string>> RunIdsAsync(LocalRuntime runtime)
    {
        var ids = new List<string>();
        await foreach (var instance in runtime.Engine.GetAllInstancesAsync(new Microsoft.DurableTask.Client.OrchestrationQuery(PageSize: 100)).WithCancellation(Ct))
        {
            ids.Add(instance.InstanceId);
        }
        return ids;
    }

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        foreach (var runtime in _runtimes)
        {
            await runtime.DisposeAsync();
        }
        GC.SuppressFinalize(this);
        // Perception and the tools never tried to reach anything but loopback.
        Assert.Empty(_runtimes.SelectMany(r => r.Network.Violations));
    }
}
