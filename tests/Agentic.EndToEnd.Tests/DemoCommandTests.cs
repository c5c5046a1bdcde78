using System.Diagnostics;
using System.Text.Json;
using Agentic.Testing;

namespace Agentic.EndToEnd.Tests;

/// <summary>The README's first command: <c>agentic demo</c> drives one governed run end to end and says so.</summary>
public sealed class DemoCommandTests(AzuriteFixture storage, ITestOutputHelper output)
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task Demo_AgainstTheSampleFleet_ShowsEveryStageAndExitsZero()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var fleet = await SampleFleet.StartAsync();
        var settings = Path.Combine(Path.GetTempPath(), $"agentic-demo-{Guid.NewGuid():N}.settings.json");
        var keys = Path.Combine(Path.GetTempPath(), $"agentic-demo-{Guid.NewGuid():N}", "keys.json");
        await File.WriteAllTextAsync(settings, JsonSerializer.Serialize(new
        {
            Values = new Dictionary<string, string>
            {
                ["AgenticStorage"] = storage.Azurite.ConnectionString,
                ["Agentic__HubName"] = Hubs.New("demo"),
                ["Agentic__Environment"] = "dev",
            },
        }), cancellationToken);
        try
        {
            var port = Ports.Free().ToString(System.Globalization.CultureInfo.InvariantCulture);
            await using var demo = ChildProcess.Start("agentic-demo", "dotnet",
                [Repo.Output("Agentic.LocalHost", "agentic.dll"), "demo", "--target", fleet.Target("checkout"), "--urls", "http://127.0.0.1:" + port, "--settings", settings, "--keys", keys]);
            var clock = Stopwatch.StartNew();
            while (!demo.HasExited && clock.Elapsed < Limit)
            {
                await Task.Delay(200, cancellationToken);
            }
            Assert.True(demo.HasExited, $"agentic demo did not finish within {Limit}:\n{demo.Tail()}");
            // The exit can be seen before the last lines are read from the pipe: wait until output is quiet.
            for (var seen = -1; seen != demo.Lines.Count;)
            {
                seen = demo.Lines.Count;
                await Task.Delay(300, cancellationToken);
            }
            var text = string.Join('\n', demo.Lines);
            output.WriteLine($"agentic demo exited with {demo.ExitCode} after {clock.Elapsed.TotalSeconds:0.0} s:\n{text}");

            Assert.True(demo.ExitCode == 0, $"agentic demo exited with {demo.ExitCode}:\n{demo.Tail()}");
            Assert.All(new[] { "perceived", "planned", "decided", "approved", "acted", "completed", "Demo passed" },
                stage => Assert.True(text.Contains(stage, StringComparison.Ordinal), $"The demo output lacks '{stage}':\n{text}"));
            // The demo made its own keys, readable by their owner only, told where they are, and approved as a second person.
            Assert.Contains(keys, text, StringComparison.Ordinal);
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keys));
            }
            var principals = JsonDocument.Parse(await File.ReadAllTextAsync(keys, cancellationToken)).RootElement.GetProperty("keys").EnumerateArray()
                .Select(k => k.GetProperty("principal").GetString()).ToList();
            Assert.Equal(["demo-requester", "oncall-operator", "second-operator", "demo-admin", "contract-reviewer"], principals);
            Assert.Contains("approved by oncall-operator", text, StringComparison.Ordinal);
            Assert.Contains("chain valid", text, StringComparison.Ordinal);

            // The README's audit check: every chain of the hub, with read access to storage and the public key the demo
            // wrote beside its keys, nothing else.
            var publicKey = Path.Combine(Path.GetDirectoryName(keys)!, "audit-public-key.pem");
            Assert.DoesNotContain("PRIVATE", await File.ReadAllTextAsync(publicKey, cancellationToken), StringComparison.Ordinal);
            await using var verify = ChildProcess.Start("agentic-audit", "dotnet",
                [Repo.Output("Agentic.LocalHost", "agentic.dll"), "audit", "verify", "--all", "--public-key", publicKey, "--settings", settings]);
            var verified = await verify.WaitForExitAsync(Limit);
            output.WriteLine(string.Join('\n', verify.Lines));
            Assert.True(verified == 0, $"agentic audit verify exited with {verified}:\n{verify.Tail()}");
            Assert.Contains(verify.Lines, l => l.StartsWith("VALID", StringComparison.Ordinal));
            Assert.Contains(verify.Lines, l => l.Contains("inclusion proof valid", StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(settings);
            Directory.Delete(Path.GetDirectoryName(keys)!, recursive: true);
        }
    }
}
