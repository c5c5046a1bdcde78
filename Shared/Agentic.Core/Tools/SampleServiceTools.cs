namespace Agentic.Core.Tools;

/// <summary>The tools of the sample fleet service that ships with the product for demos and tests.</summary>
public static class SampleServiceTools
{
    /// <summary>Every sample tool, bound to <paramref name="httpClients"/>.</summary>
    public static IEnumerable<ITool> Create(IHttpClientFactory httpClients)
    {
        var timeout = TimeSpan.FromSeconds(10);
        yield return new HttpServiceTool(
            new("sample.health", "1.0.0", "Reads the service's health.", RiskLevel.Low, SideEffect.ReadOnly, Idempotent: true, timeout, 16 * 1024),
            HttpMethod.Get, "health", httpClients);
        yield return new HttpServiceTool(
            new("sample.diagnostics", "1.0.0", "Reads the service's diagnostics: error rate, latency, recent events.", RiskLevel.Low, SideEffect.ReadOnly, Idempotent: true, timeout, 32 * 1024),
            HttpMethod.Get, "diagnostics", httpClients);
        yield return new HttpServiceTool(
            new("sample.restart", "1.0.0", "Restarts the service's instances.", RiskLevel.High, SideEffect.Reversible, Idempotent: true, timeout, 16 * 1024),
            HttpMethod.Post, "restart", httpClients);
        yield return new HttpServiceTool(
            new("sample.scale", "1.0.0", "Sets the service's replica count.", RiskLevel.Medium, SideEffect.Reversible, Idempotent: true, timeout, 16 * 1024),
            HttpMethod.Post, "scale", httpClients);
    }
}
