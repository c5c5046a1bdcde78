using System.Text;
using Agentic.Core.Tools.Builtin;
using BenchmarkDotNet.Attributes;

namespace Agentic.Bench.Micro;

/// <summary>
/// Redacting two secrets from a 16 KB tool answer, measured in one run: the exact-text replacement the redactor did
/// before (one ordinal <see cref="string.Replace(string, string, StringComparison)"/> per secret, the baseline) against
/// the one-pass redaction of every form (exact, case-folded, base64 and base64url with their three shifted cores,
/// URL- and JSON-encoded), on an answer that echoes nothing and on one that echoes a secret; and building the redactor,
/// which happens once per tool call.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(PolicyBenchmarks.PercentileConfig))]
public class RedactionBenchmarks
{
    private static readonly string[] Secrets = ["s3cr3t-fleet-value-42", "Bearer-hook-Zx81-q9"];
    private Redactor _redactor = null!;
    private string _clean = null!;
    private string _echoing = null!;

    [Params(false, true)]
    public bool Echoes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _redactor = new Redactor(Secrets);
        var body = new StringBuilder();
        for (var i = 0; body.Length < 16 * 1024; i++)
        {
            body.Append("{\"id\":").Append(i).Append(",\"name\":\"service-").Append(i).Append("\",\"status\":\"healthy\",\"replicas\":3,\"zone\":\"eu-west\"},\n");
        }
        _clean = body.ToString();
        _echoing = _clean.Insert(_clean.Length / 2, "\"auth\":\"" + Convert.ToBase64String(Encoding.UTF8.GetBytes(Secrets[0])) + "\",\"key\":\"" + Secrets[1] + "\",");
        if (_redactor.Redact(_echoing) == _echoing || !ReferenceEquals(_redactor.Redact(_clean), _clean))
        {
            throw new InvalidOperationException("The benchmark texts do not exercise the redactor as intended.");
        }
    }

    private string Text => Echoes ? _echoing : _clean;

    [Benchmark(Baseline = true, Description = "exact text only (Replace per secret)")]
    public string ExactOnly()
    {
        var text = Text;
        foreach (var secret in Secrets)
        {
            text = text.Replace(secret, Redactor.Marker, StringComparison.Ordinal);
        }
        return text;
    }

    [Benchmark(Description = "every form, one pass")]
    public string EveryForm() => _redactor.Redact(Text);

    [Benchmark(Description = "build the redactor (per call)")]
    public int Build() => new Redactor(Secrets).Longest;
}
