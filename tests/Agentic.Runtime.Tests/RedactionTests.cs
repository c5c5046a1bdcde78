using System.Net;
using System.Text;
using System.Text.Json;
using Agentic.Core.Agents;
using Agentic.Core.Json;
using Agentic.Core.Runs;
using Agentic.Core.Workflow;
using Agentic.Durable;
using Agentic.Runtime.Tests.Infrastructure;
using Agentic.Testing;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;

namespace Agentic.Runtime.Tests;

/// <summary>
/// A canary secret, injected by the egress rule into <c>http.request</c>'s header, echoed back by a service on 127.0.0.1
/// in every encoding it might use: no form of it reaches the tool's output, the error text, the runtime's log, the ledger
/// or the run document (real runtime, real Azurite, the real tool).
/// </summary>
public sealed class RedactionTests(AzuriteFixture azurite, FleetFixture fleet) : RuntimeTest(azurite, fleet), IClassFixture<FleetFixture>
{
    private const string Canary = CanaryEcho.Canary;

    private static AgentCatalog Echo => CanaryEcho.Agent;

    private static Dictionary<string, string> Forms(string secret) => CanaryEcho.Forms(secret);

    [Theory]
    [InlineData(200)]
    [InlineData(400)]
    public async Task CanarySecret_EchoedInEveryEncoding_AppearsNowhere_InOutputErrorsLogsLedgerAuditOrRunDocument(int status)
    {
        // A service that answers with its X-Canary header in every encoding, one per line.
        await using var server = LoopbackServer.Start(c => LoopbackServer.WriteAsync(c, status, "text/plain",
            string.Join('\n', Forms(c.Request.Headers["X-Canary"] ?? "").Select(f => $"{f.Key}: {f.Value}"))));
        var settings = CanaryEcho.Settings(server.Url);
        var runtime = await StartRuntimeAsync(settings, services => services.AddSingleton(Echo));
        var request = RunRequestParser.Parse(JsonSerializer.SerializeToUtf8Bytes(new { agent = "echo", target = Fleet.HealthyTarget(), parameters = new { url = server.Url + "/api/echo" } }, AgenticJson.Options), Requests.Requester, Requests.Admission(new Uri(Fleet.HealthyTarget()), Echo));

        var run = await runtime.WaitTerminalAsync(await SubmitAsync(runtime, request));

        // The service really got the secret, and really echoed it: the redaction had something to do.
        Assert.Equal(Canary, server.Requests.Single().Headers["X-Canary"]);
        var document = JsonSerializer.Serialize(run.View, AgenticJson.Options);
        string errors;
        if (status == 200)
        {
            Assert.True(run.Status == "completed", LocalRuntime.Describe(run));
            Assert.Contains("[redacted]", document, StringComparison.Ordinal);
            var output = run.View.Steps.Single().Result!.Output.GetRawText();
            Assert.Contains("[redacted]", output, StringComparison.Ordinal);
            Assert.Equal(Forms(Canary).Count, output.Split("[redacted]").Length - 1);
            errors = "";
        }
        else
        {
            // An error answer is reported by status, size and digest: its body, and the secret in it, never reach the run.
            AssertFailed(run, "http.request: GET", "answered 400", "sha256:");
            errors = run.View.FailureReason + "\n" + run.View.Steps.Single().Error;
        }
        var places = new Dictionary<string, string>
        {
            ["run document"] = document,
            ["error text"] = errors,
            ["log"] = runtime.LogTail(2000),
            ["ledger"] = await TableTextAsync("ledger"),
            // The engine's record of the run: every activity's input and output, the custom status and the output.
            ["history table"] = await TableTextAsync("History"),
            ["instances table"] = await TableTextAsync("Instances"),
            // The run's audit chain: its records carry digests of arguments, results and evidence, never the values.
            ["audit table"] = await TableTextAsync("audit"),
        };
        Assert.Contains(run.View.Id, places["audit table"], StringComparison.Ordinal);
        foreach (var (place, text) in places)
        {
            foreach (var (form, value) in Forms(Canary))
            {
                Assert.False(text.Contains(value, StringComparison.OrdinalIgnoreCase), $"The {form} form of the canary is in the {place}:\n{text}");
            }
            // Whatever else a form was cut into, the secret's distinctive middle is gone.
            Assert.DoesNotContain("Secret&Value", text, StringComparison.OrdinalIgnoreCase);
        }
    }

    private async Task<string> TableTextAsync(string suffix)
    {
        var text = new StringBuilder();
        await foreach (var row in new TableClient(Azurite.ConnectionString, Hub + suffix).QueryAsync<TableEntity>(cancellationToken: Ct))
        {
            foreach (var (name, value) in row)
            {
                text.Append(name).Append('=').Append(value is byte[] bytes ? Encoding.UTF8.GetString(bytes) : value?.ToString()).Append('\n');
            }
        }
        return text.ToString();
    }
}
