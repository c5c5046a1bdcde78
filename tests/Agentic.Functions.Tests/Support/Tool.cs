using System.Diagnostics;
using System.Reflection;
using System.Text;

namespace Agentic.Functions.Tests.Support;

/// <summary>What a command printed and how it ended.</summary>
public sealed record ToolResult(int ExitCode, string Output, string Errors)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{Output}\n--- stderr ---\n{Errors}";
}

/// <summary>Runs a command to completion with a bound, output and errors captured apart.</summary>
public static class Tool
{
    /// <summary>The build configuration these tests were built with (Release under ./agentic test).</summary>
    public static string Configuration { get; } = Metadata("Configuration");

    /// <summary>The Bicep CLI from the Azure.Bicep.CommandLine.linux-x64 package (its build props set BicepPath).</summary>
    public static string BicepPath { get; } = Metadata("BicepPath");

    public static async Task<ToolResult> RunAsync(
        string fileName, IEnumerable<string> arguments, string workingDirectory, TimeSpan timeout, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            info.Environment[key] = value;
        }
        using var process = new Process { StartInfo = info };
        var output = new StringBuilder();
        var errors = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (errors) { errors.AppendLine(e.Data); } } };
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var bound = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(bound.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', info.ArgumentList)} did not finish within {timeout}:\n{output}\n{errors}");
        }
        // The exit is in; let the last lines of output arrive.
        process.WaitForExit();
        return new ToolResult(process.ExitCode, output.ToString(), errors.ToString());
    }

    private static string Metadata(string key) =>
        typeof(Tool).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"The test assembly has no {key} metadata (see Agentic.Functions.Tests.csproj).");
}
