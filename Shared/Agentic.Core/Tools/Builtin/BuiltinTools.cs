namespace Agentic.Core.Tools.Builtin;

/// <summary>The built-in tools of the core: <c>http.request</c> and <c>notify.webhook</c> (<c>queue.send</c> lives in the Azure layer).</summary>
public static class BuiltinTools
{
    /// <summary>The built-in tools over <paramref name="egress"/> and <paramref name="notify"/>, connecting through <paramref name="client"/>.</summary>
    public static IEnumerable<ITool> Create(EgressPolicy egress, NotifyOptions notify, EgressClient client) =>
        [new HttpRequestTool(egress, client), new NotifyWebhookTool(notify, client)];
}
