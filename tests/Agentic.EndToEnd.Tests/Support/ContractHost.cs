using Agentic.Core.Runs;
using System.Net;
using Agentic.Runtime.Http;
using Agentic.Testing;

namespace Agentic.EndToEnd.Tests.Support;

/// <summary>One real host (and fleet) shared by the HTTP contract tests of a class.</summary>
public sealed class ContractHost(AzuriteFixture storage) : IAsyncLifetime
{
    private SampleFleet? _fleet;
    private AgenticHost? _host;

    /// <summary>The host, a dev deployment whose runs may target the fleet.</summary>
    public AgenticHost Host => _host ?? throw new InvalidOperationException("Not started.");

    /// <summary>The fleet the runs target.</summary>
    public SampleFleet Fleet => _fleet ?? throw new InvalidOperationException("Not started.");

    /// <summary>A client of the host's API.</summary>
    public AgenticClient Api { get; private set; } = null!;

    /// <inheritdoc />
    public async ValueTask InitializeAsync()
    {
        _fleet = await SampleFleet.StartAsync();
        _host = new AgenticHost(storage.Azurite.ConnectionString, Hubs.New("api"), fleet: _fleet);
        await Host.StartAsync();
        Api = new AgenticClient(Host.BaseUri);
    }

    /// <summary>Submits a healer run on a freshly degraded service and waits until it asks for approval of its restart.</summary>
    public async Task<(RunCreatedView Run, RunView View)> StartRunAwaitingApprovalAsync(CancellationToken cancellationToken)
    {
        var service = "api-" + Guid.NewGuid().ToString("N")[..8];
        await Fleet.DegradeAsync(service);
        var run = await Api.SubmitAsync(Workload.HealerBody(Fleet.Target(service)), Caller.Requester, cancellationToken);
        var view = await PollAsync(run.Id, v => v.PendingApproval is not null, cancellationToken);
        return (run, view);
    }

    /// <summary>Polls a run until <paramref name="done"/> holds; fails after 60 s with the host's output.</summary>
    public async Task<RunView> PollAsync(string id, Func<RunView, bool> done, CancellationToken cancellationToken)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        RunView? view = null;
        while (DateTime.UtcNow < until)
        {
            var (status, current) = await Api.GetRunAsync(id, cancellationToken);
            Assert.True(status is HttpStatusCode.OK or HttpStatusCode.Accepted, $"GET run {id} answered {(int)status}.");
            view = current!;
            if (done(view))
            {
                return view;
            }
            await Task.Delay(100, cancellationToken);
        }
        Assert.Fail($"Run {id} did not reach the expected state within 60 s (status {view?.Status}, phase {view?.Phase}).\n{HostOutput.Tail(Host)}");
        return view!;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        Api?.Dispose();
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
        if (_fleet is not null)
        {
            await _fleet.DisposeAsync();
        }
    }
}
