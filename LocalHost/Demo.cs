using System.Net.Http.Json;
using System.Text.Json;
using Agentic.Core.Json;
using Agentic.Core.Runs;
using Agentic.Core.Workflow;
using Agentic.Runtime;
using Agentic.Runtime.Http.Identity;

namespace Agentic.LocalHost;

/// <summary>
/// `agentic demo`: starts the host, breaks a service of the sample fleet, asks the service-healer agent to
/// fix it over the HTTP API, approves the risky step as an operator, prints the run as it goes, and checks
/// the outcome: completed, target healthy, the restart applied exactly once.
/// </summary>
internal static class Demo
{
    public static async Task<int> RunAsync(string[] args)
    {
        var options = Options.Parse(args);
        var target = new Uri(options.Get("--target") ?? "http://127.0.0.1:7072/services/checkout");
        var (app, keys) = LocalHostApp.Build(args.Where((a, i) => a != "--target" && (i == 0 || args[i - 1] != "--target")).ToArray(), c => AllowDemoTarget(c, target));
        await using var _ = app;
        if (keys is null)
        {
            Console.Error.WriteLine("demo: the demo signs in with the demo principals' keys; '--keys none' leaves it none.");
            return 2;
        }
        await app.StartAsync();
        try
        {
            await app.Services.GetRequiredService<Agentic.Runtime.Engine.EngineService>().Ready.WaitAsync(TimeSpan.FromSeconds(60));
            var api = new Uri(app.Urls.First());
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            return await DriveAsync(http, api, target, keys.For(AgenticRoles.Requester), keys.For(AgenticRoles.Operator));
        }
        catch (Exception ex) when (ex is HttpRequestException or TimeoutException or JsonException)
        {
            Console.Error.WriteLine($"demo: {ex.Message}");
            return 1;
        }
        finally
        {
            await app.StopAsync();
        }
    }

    // The demo runs against the sample fleet on this machine: a dev deployment unless the settings say otherwise, the
    // fleet's service (a loopback address) added to the run targets next to whatever the settings allow, and no monitor
    // starting runs of its own beside the demo's.
    private static void AllowDemoTarget(ConfigurationManager configuration, Uri target)
    {
        var added = new Dictionary<string, string?>();
        if (string.IsNullOrEmpty(configuration["Agentic:Agents:Path"]))
        {
            // The demo drives its one run itself: the shipped monitor of the same service stays off whatever the settings say.
            added["Agentic:Monitors:Enabled:checkout"] = "false";
        }
        if (string.IsNullOrEmpty(configuration["Agentic:Environment"]))
        {
            added["Agentic:Environment"] = "dev";
        }
        var rule = $"Agentic:Targets:Allow:{configuration.GetSection("Agentic:Targets:Allow").GetChildren().Count()}";
        added[rule + ":Scheme"] = target.Scheme;
        added[rule + ":Host"] = target.Host;
        added[rule + ":Port"] = target.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        added[rule + ":Paths:0"] = target.AbsolutePath;
        added[rule + ":AllowPrivate"] = "true";
        configuration.AddInMemoryCollection(added);
    }

    private static async Task<int> DriveAsync(HttpClient http, Uri api, Uri target, LocalKey requester, LocalKey approver)
    {
        var fleet = target.GetLeftPart(UriPartial.Authority);
        Say($"Sample fleet at {fleet}; breaking {target.AbsolutePath} so the agent has something to fix.");
        (await http.PostAsync(new Uri(fleet + "/admin" + target.AbsolutePath.TrimEnd('/') + "/degrade"), null)).EnsureSuccessStatusCode();

        using var submit = new HttpRequestMessage(HttpMethod.Post, new Uri(api, "/api/runs"))
        {
            Content = JsonContent.Create(new { agent = "service-healer", target = target.ToString(), goal = "Keep checkout healthy" }),
        };
        submit.Headers.Add(ApiKeyHeader, requester.Key);
        using var accepted = await http.SendAsync(submit);
        var created = await accepted.Content.ReadFromJsonAsync<RunCreatedView>(AgenticJson.Options) ?? throw new JsonException("Empty answer to POST /api/runs.");
        Say($"POST /api/runs -> {(int)accepted.StatusCode} {accepted.StatusCode}, run {created.Id} (as {requester.Principal})");
        Say($"  status:    {created.StatusQueryGetUri}");
        Say($"  terminate: {created.TerminatePostUri}");

        var printed = 0;
        var approved = new HashSet<string>(StringComparer.Ordinal);
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        RunView view;
        while (true)
        {
            using var status = new HttpRequestMessage(HttpMethod.Get, new Uri(created.StatusQueryGetUri));
            status.Headers.Add(ApiKeyHeader, requester.Key);
            using var response = await http.SendAsync(status);
            view = await response.Content.ReadFromJsonAsync<RunView>(AgenticJson.Options) ?? throw new JsonException("Empty status.");
            foreach (var entry in view.Log.Skip(printed))
            {
                Say($"  {entry.At:HH:mm:ss.fff} {entry.Kind,-17} {(entry.StepId is null ? "" : entry.StepId + " ")}{entry.Message}");
                if (entry.Kind == "planned")
                {
                    foreach (var step in view.Steps)
                    {
                        Say($"  {"",12} {"",-17} {step.StepId} {step.Tool}: {step.Rationale}");
                    }
                }
            }
            printed = view.Log.Count;
            if (view.PendingApproval is { } pending && approved.Add(pending.StepId))
            {
                Say($"  -> approving {pending.StepId} ({pending.Tool}, args {pending.ArgsDigest[..19]}) as {approver.Principal}, role {pending.ApproverRole}");
                using var approve = new HttpRequestMessage(HttpMethod.Post, new Uri(pending.ApprovePostUri ?? throw new JsonException("The pending approval has no approvePostUri.")))
                {
                    Content = JsonContent.Create(new { decision = "approve", comment = "Runbook restart approved for the demo." }),
                };
                approve.Headers.Add(ApiKeyHeader, approver.Key);
                (await http.SendAsync(approve)).EnsureSuccessStatusCode();
            }
            if (response.StatusCode == System.Net.HttpStatusCode.OK)
            {
                break;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Run {created.Id} did not finish within 3 minutes (phase {view.Phase}).");
            }
            await Task.Delay(200);
        }

        var effects = await http.GetFromJsonAsync<JsonElement>(new Uri(fleet + "/admin/effects"));
        var restarts = effects.GetProperty("effects").EnumerateArray()
            .Where(e => e.GetProperty("key").GetString()!.StartsWith(created.Id + "/", StringComparison.Ordinal))
            .Select(e => (Key: e.GetProperty("key").GetString(), Applied: e.GetProperty("applied").GetInt32()))
            .ToList();
        Say("");
        Say($"Run {view.Id}: {view.Status} ({view.Output?.Outcome ?? view.FailureReason})");
        foreach (var step in view.Steps)
        {
            Say($"  {step.StepId} {step.Tool,-20} {step.Status,-10} {step.Decision?.Effect.ToString() ?? "-"} by rule '{step.Decision?.Rule}'{(step.Approval is { } a ? $", approved by {a.Approver}" : "")}");
        }
        foreach (var (key, applied) in restarts)
        {
            Say($"  side effect {key}: applied {applied} time(s)");
        }
        // The run's audit chain, recomputed by the host and checked against the signed checkpoint of the run's end.
        using var verify = new HttpRequestMessage(HttpMethod.Get, new Uri(api, $"/api/runs/{Uri.EscapeDataString(created.Id)}/audit/verify"));
        verify.Headers.Add(ApiKeyHeader, requester.Key);
        using var verified = await http.SendAsync(verify);
        verified.EnsureSuccessStatusCode();
        var audit = await verified.Content.ReadFromJsonAsync<JsonElement>();
        var chain = audit.GetProperty("chain");
        var auditOk = audit.GetProperty("valid").GetBoolean() && audit.GetProperty("covered").GetBoolean();
        Say(auditOk
            ? $"  audit: {chain.GetProperty("records").GetInt64()} records, chain valid, head {chain.GetProperty("head").GetString()![..19]}, signed by checkpoint {chain.GetProperty("coverage").GetProperty("checkpoint").GetInt64()} ({chain.GetProperty("coverage").GetProperty("keyId").GetString()}), inclusion proof valid"
            : $"  audit: NOT verified: {chain}");
        var ok = view.Status == "completed" && view.Output?.Outcome == "remediated" && restarts.Count == 1 && restarts[0].Applied == 1 && auditOk;
        Say(ok ? "Demo passed: the service was diagnosed, restarted once with approval, verified healthy, and every decision is in a signed audit chain." : "Demo FAILED: the run did not remediate the service as expected, or its audit chain does not verify.");
        return ok ? 0 : 1;
    }

    private static void Say(string line) => Console.WriteLine(line);

    private const string ApiKeyHeader = "x-functions-key";
}
