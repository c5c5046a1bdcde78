using Agentic.LocalHost;

return args switch
{
    ["up", .. var rest] => await LocalHostApp.RunAsync(rest),
    ["demo", .. var rest] => await Demo.RunAsync(rest),
    ["policy", "test", var policy] => PolicyCommand.Test(policy, null),
    ["policy", "test", var policy, var tests] => PolicyCommand.Test(policy, tests),
    ["policy", "simulate", .. var rest] => await PolicySimulateCommand.RunAsync(rest),
    ["audit", .. var rest] => await AuditCommand.RunAsync(rest),
    ["agents", "check", .. var rest] => AgentsCommand.Check(rest),
    [] or ["help" or "--help" or "-h"] => Usage(0),
    _ => Usage(2),
};

static int Usage(int code)
{
    var writer = code == 0 ? Console.Out : Console.Error;
    writer.WriteLine("""
        agentic: the Agentic Functions local host.

          agentic up   [--urls http://127.0.0.1:7071] [--settings local.settings.json]
                       Serve the HTTP API, listen to the agent-runs queue and run workflows until stopped.
          agentic demo --target http://127.0.0.1:7072/services/checkout [--urls ...] [--settings ...]
                       Start the host, submit a sample run over HTTP, print its progress and outcome.
                       Exits 0 only if the run remediated the target.
          agentic policy test <policy.yaml> [<tests.yaml>]
                       Load a policy (reporting every diagnostic with file, line and column) and run its
                       test cases (default: <policy>.tests.yaml beside it). Exits 0 only if all pass.
          agentic policy simulate --policy <candidate.yaml> [--since <ISO time>] [--max N] [--settings ...]
                       Re-evaluate the decisions recorded on the configured storage with a candidate policy
                       and list every decision that would change. Exits 0 (changes are information),
                       1 if the candidate does not load or the decisions can not be read, 2 on usage errors.
          agentic agents check [<directory>] [--settings ...]
                       Load the agents a host with these settings would offer (the directory, else
                       Agentic__Agents__Path, else the shipped agents) and check the tools they list against the
                       host's tools, reporting every diagnostic with file, line and column. Exits 0 only if all load.
          agentic audit verify (--run <id> | --all) [--public-key <file>] [--settings ...]
                       Recompute every audit chain asked for from the configured storage and check it against the
                       signed checkpoints, trusting only the given public key(s) (default: the dev key's,
                       .agentic/audit-public-key.pem). Reports the first broken position with the expected and found
                       hashes, and each chain's checkpoint and inclusion proof. Exits 0 only if all verify.
          agentic audit export [--run <id>] [--since <ISO time>] [--out <file>] [--public-key <file>] [--settings ...]
                       Write the audit records, each chain's proof and the checkpoints as JSON Lines (for a SIEM).
        """);
    return code;
}
