using Agentic.Core.Policy.Language;

namespace Agentic.LocalHost;

/// <summary>`agentic policy test &lt;policy.yaml&gt; [tests.yaml]`: loads a policy (every diagnostic is reported) and runs its test cases.</summary>
internal static class PolicyCommand
{
    public static int Test(string policyPath, string? testsPath)
    {
        testsPath ??= PolicyTestRunner.TestsPathFor(policyPath);
        var report = PolicyTestRunner.Run(policyPath, testsPath);
        Console.WriteLine(report.Format());
        return report.Passed ? 0 : 1;
    }
}
