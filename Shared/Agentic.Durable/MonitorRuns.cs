using Agentic.Core.Audit;
using Agentic.Core.Monitors;
using Agentic.Core.Runs;
using Microsoft.DurableTask.Client;

namespace Agentic.Durable;

/// <summary>
/// The engine as monitors see it, over the run client of either host: a run's state is its instance's status as the
/// Durable client reports it (anything but completed, failed or terminated is active), and a tick's run is submitted as every run is,
/// naming the monitor as its trigger in the audit.
/// </summary>
public sealed class MonitorRuns(AgentRunClient runs) : IMonitorRuns
{
    /// <inheritdoc />
    public async Task<MonitorRunState> StateAsync(string runId, CancellationToken cancellationToken)
    {
        var instance = await runs.Engine.GetInstanceAsync(runId, getInputsAndOutputs: false, cancellationToken);
        return instance?.RuntimeStatus switch
        {
            null => MonitorRunState.Missing,
            OrchestrationRuntimeStatus.Completed or OrchestrationRuntimeStatus.Failed or OrchestrationRuntimeStatus.Terminated => MonitorRunState.Ended,
            // Running, pending, suspended (or between generations): the run has not ended.
            _ => MonitorRunState.Active,
        };
    }

    /// <inheritdoc />
    public Task SubmitAsync(RunRequest request, CancellationToken cancellationToken) =>
        runs.SubmitAsync(request, RunTrigger.Monitor, cancellationToken);
}
