using Agentic.Durable;
using Agentic.Runtime.Tests.Infrastructure;
using Agentic.Testing;

namespace Agentic.Runtime.Tests;

/// <summary>The run client on the engine: idempotent submission and listing with filters.</summary>
public sealed class RunClientTests(AzuriteFixture azurite, FleetFixture fleet) : RuntimeTest(azurite, fleet), IClassFixture<FleetFixture>
{
    [Fact]
    public async Task Submit_TheSameIdempotencyKeyTwiceAtOnce_StartsOneRun()
    {
        var runtime = await StartRuntimeAsync();
        var request = Requests.Diagnostics(Fleet.HealthyTarget(), 1, idempotencyKey: "once-" + Guid.NewGuid().ToString("N"));

        var answers = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => runtime.Runs.SubmitAsync(request, Ct)));

        Assert.Single(answers.Select(a => a.RunId).Distinct());
        Assert.Single(answers, a => a.Created);
        AssertCompleted(await runtime.WaitTerminalAsync(answers[0].RunId), "done");
        Assert.Equal([answers[0].RunId], await RunIdsAsync(runtime));
    }

    [Fact]
    public async Task List_FiltersByStatusAgentAndPrincipal_AndPagesWithTheEnginesToken()
    {
        var runtime = await StartRuntimeAsync();
        var done = await SubmitAsync(runtime, Requests.Diagnostics(Fleet.HealthyTarget(), 1));
        var waiting = await SubmitHealerAwaitingApprovalAsync(runtime);
        var other = await SubmitAsync(runtime, Requests.Diagnostics(Fleet.HealthyTarget(), 1) with { Principal = "someone-else" });
        await runtime.WaitTerminalAsync(done);
        await runtime.WaitTerminalAsync(other);

        Assert.Equal([waiting], Ids(await runtime.Runs.ListAsync(new RunQuery(Status: "running"), Ct)));
        Assert.Equal(new[] { done, other }.Order(StringComparer.Ordinal), Ids(await runtime.Runs.ListAsync(new RunQuery(Status: "completed"), Ct)).Order(StringComparer.Ordinal));
        Assert.Equal([waiting], Ids(await runtime.Runs.ListAsync(new RunQuery(Agent: "service-healer"), Ct)));
        Assert.Equal([other], Ids(await runtime.Runs.ListAsync(new RunQuery(Principal: "someone-else"), Ct)));
        Assert.Empty((await runtime.Runs.ListAsync(new RunQuery(CreatedFrom: DateTimeOffset.UtcNow.AddMinutes(1)), Ct)).Runs);

        // One run per page: three pages, each run once, the last without a token.
        var seen = new List<string>();
        string? token = null;
        do
        {
            var page = await runtime.Runs.ListAsync(new RunQuery(Top: 1, ContinuationToken: token), Ct);
            seen.AddRange(Ids(page));
            token = page.ContinuationToken;
        }
        while (token is not null && seen.Count < 10);
        Assert.Equal(new[] { done, waiting, other }.Order(StringComparer.Ordinal), seen.Order(StringComparer.Ordinal));
        await Assert.ThrowsAsync<ArgumentException>(() => runtime.Runs.ListAsync(new RunQuery(Status: "sleeping"), Ct));
    }

    private static List<string> Ids(RunPage page) => [.. page.Runs.Select(r => r.RunId)];
}
