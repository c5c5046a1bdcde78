using System.Text.Json;

namespace Agentic.Core.Tools;

/// <summary>The tools of the sample fleet service that ships with the product for demos and tests: its services' and its contract register's.</summary>
public static class SampleServiceTools
{
    // Input schemas are closed where the tool changes something (an unexpected member is a planner error the gate
    // must refuse); output schemas stay open, because the service may add members without breaking the contract.

    /// <summary>Input of <c>sample.health</c>: an object, nothing required.</summary>
    public const string HealthInput = """
        {
          "$schema": "http://json-schema.org/draft-07/schema#",
          "type": "object"
        }
        """;

    /// <summary>Output of <c>sample.health</c>.</summary>
    public const string HealthOutput = """
        {
          "$schema": "http://json-schema.org/draft-07/schema#",
          "type": "object",
          "properties": {
            "status": { "type": "string" },
            "service": { "type": "string" },
            "replicas": { "type": "integer" },
            "restarts": { "type": "integer" }
          },
          "required": ["status"]
        }
        """;

    /// <summary>Input of <c>sample.diagnostics</c>: an object, with an optional positive integer <c>probe</c> (the sample's ordinal).</summary>
    public const string DiagnosticsInput = """
        {
          "$schema": "http://json-schema.org/draft-07/schema#",
          "type": "object",
          "properties": {
            "probe": { "type": "integer", "minimum": 1 }
          }
        }
        """;

    /// <summary>Output of <c>sample.diagnostics</c>.</summary>
    public const string DiagnosticsOutput = """
        {
          "$schema": "http://json-schema.org/draft-07/schema#",
          "type": "object",
          "properties": {
            "service": { "type": "string" },
            "errorRate": { "type": "number", "minimum": 0, "maximum": 1 },
            "p95LatencyMs": { "type": "number", "minimum": 0 },
            "replicas": { "type": "integer" },
            "message": { "type": "string" }
          }
        }
        """;

    /// <summary>Input of <c>sample.restart</c>: <c>{ "reason": string of 1 to 500 characters }</c>, nothing else.</summary>
    public const string RestartInput = """
        {
          "$schema": "http://json-schema.org/draft-07/schema#",
          "type": "object",
          "properties": {
            "reason": { "type": "string", "minLength": 1, "maxLength": 500 }
          },
          "required": ["reason"],
          "additionalProperties": false
        }
        """;

    /// <summary>Output of <c>sample.restart</c>.</summary>
    public const string RestartOutput = """
        {
          "$schema": "http://json-schema.org/draft-07/schema#",
          "type": "object",
          "properties": {
            "message": { "type": "string" },
            "service": { "type": "string" },
            "restarts": { "type": "integer", "minimum": 0 }
          }
        }
        """;

    /// <summary>Input of <c>sample.scale</c>: <c>{ "replicas": integer 0 to 100 }</c>, nothing else.</summary>
    public const string ScaleInput = """
        {
          "$schema": "http://json-schema.org/draft-07/schema#",
          "type": "object",
          "properties": {
            "replicas": { "type": "integer", "minimum": 0, "maximum": 100 }
          },
          "required": ["replicas"],
          "additionalProperties": false
        }
        """;

    /// <summary>Output of <c>sample.scale</c>; <c>previousReplicas</c> is what the compensating call restores.</summary>
    public const string ScaleOutput = """
        {
          "$schema": "http://json-schema.org/draft-07/schema#",
          "type": "object",
          "properties": {
            "message": { "type": "string" },
            "service": { "type": "string" },
            "replicas": { "type": "integer", "minimum": 0 },
            "previousReplicas": { "type": "integer", "minimum": 0 }
          }
        }
        """;

    /// <summary>The clause kinds the contract register knows (<c>contract.record</c>'s <c>clauses[].kind</c>).</summary>
    public static IReadOnlyList<string> ClauseKinds { get; } =
    [
        "limitation-of-liability", "unlimited-liability", "indemnification", "uncapped-indemnity", "auto-renewal", "exclusivity",
        "non-compete", "termination-for-convenience", "confidentiality", "data-processing", "governing-law", "other",
    ];

    /// <summary>
    /// Input of <c>contract.record</c>, the fields extracted from a contract: title, two to ten parties with their role,
    /// the effective date and (unless it runs until terminated) the expiry date, the value, and the notable clauses by kind
    /// with a short excerpt. Nothing else: the contract is named by the run's target, never by the arguments.
    /// </summary>
    public static string ContractInput { get; } = """
        {
          "$schema": "http://json-schema.org/draft-07/schema#",
          "type": "object",
          "properties": {
            "title": { "type": "string", "minLength": 1, "maxLength": 200 },
            "parties": {
              "type": "array", "minItems": 2, "maxItems": 10,
              "items": {
                "type": "object",
                "properties": {
                  "name": { "type": "string", "minLength": 1, "maxLength": 200 },
                  "role": { "enum": ["customer", "supplier", "licensor", "licensee", "partner", "other"] }
                },
                "required": ["name", "role"],
                "additionalProperties": false
              }
            },
            "effectiveDate": { "type": "string", "format": "date" },
            "expiryDate": { "type": "string", "format": "date" },
            "value": {
              "type": "object",
              "properties": {
                "amount": { "type": "number", "minimum": 0 },
                "currency": { "type": "string", "pattern": "^[A-Z]{3}$" }
              },
              "required": ["amount", "currency"],
              "additionalProperties": false
            },
            "clauses": {
              "type": "array", "maxItems": 50,
              "items": {
                "type": "object",
                "properties": {
                  "kind": { "enum": [KINDS] },
                  "excerpt": { "type": "string", "minLength": 1, "maxLength": 500 }
                },
                "required": ["kind", "excerpt"],
                "additionalProperties": false
              }
            }
          },
          "required": ["title", "parties", "effectiveDate", "value", "clauses"],
          "additionalProperties": false
        }
        """.Replace("KINDS", string.Join(", ", ClauseKinds.Select(k => $"\"{k}\"")), StringComparison.Ordinal);

    /// <summary>
    /// The contract register's assessment of a contract's fields (<c>contract.record</c>'s <see cref="ToolDescriptor.AssessmentSchema"/>):
    /// a risk score from 0 to 100, its band (60 and more high, 30 and more medium) and the factors that made it.
    /// </summary>
    public const string ContractAssessment = """
        {
          "$schema": "http://json-schema.org/draft-07/schema#",
          "type": "object",
          "properties": {
            "contract": { "type": "string" },
            "riskScore": { "type": "integer", "minimum": 0, "maximum": 100 },
            "riskBand": { "enum": ["low", "medium", "high"] },
            "factors": {
              "type": "array",
              "items": {
                "type": "object",
                "properties": { "factor": { "type": "string" }, "points": { "type": "integer" }, "detail": { "type": "string" } },
                "required": ["factor", "points"]
              }
            }
          },
          "required": ["riskScore", "riskBand"]
        }
        """;

    /// <summary>Output of <c>contract.record</c>: the record's version and status (<c>in-review</c> for a high-risk contract) and its score.</summary>
    public const string ContractRecordOutput = """
        {
          "$schema": "http://json-schema.org/draft-07/schema#",
          "type": "object",
          "properties": {
            "message": { "type": "string" },
            "contract": { "type": "string" },
            "version": { "type": "integer", "minimum": 1 },
            "previousVersion": { "type": "integer", "minimum": 0 },
            "status": { "enum": ["recorded", "in-review"] },
            "riskScore": { "type": "integer", "minimum": 0, "maximum": 100 },
            "riskBand": { "enum": ["low", "medium", "high"] }
          },
          "required": ["contract", "version", "status", "riskBand"]
        }
        """;

    /// <summary>Every sample tool's descriptor.</summary>
    public static IReadOnlyList<ToolDescriptor> Descriptors { get; } = CreateDescriptors();

    /// <summary>Every sample tool, calling the targets <paramref name="targets"/> allows through <paramref name="client"/>.</summary>
    public static IEnumerable<ITool> Create(Runs.RunTargets targets, Builtin.EgressClient client)
    {
        yield return new HttpServiceTool(Descriptors[0], HttpMethod.Get, "health", targets, client);
        yield return new HttpServiceTool(Descriptors[1], HttpMethod.Get, "diagnostics", targets, client);
        yield return new HttpServiceTool(Descriptors[2], HttpMethod.Post, "restart", targets, client);
        yield return new HttpServiceTool(Descriptors[3], HttpMethod.Post, "scale", targets, client, ScaleCompensation);
        yield return new HttpServiceTool(Descriptors[4], HttpMethod.Put, "record", targets, client, assessRoute: "assess");
    }

    /// <summary>
    /// The call that undoes a <c>sample.scale</c> whose output is <paramref name="output"/>: scale back to
    /// <c>previousReplicas</c>; <c>null</c> when the service did not report it.
    /// </summary>
    public static CompensationCall? ScaleCompensation(JsonElement output) =>
        output.ValueKind == JsonValueKind.Object
        && output.TryGetProperty("previousReplicas", out var previous)
        && previous.ValueKind == JsonValueKind.Number
        && previous.TryGetInt32(out var replicas)
        && replicas is >= 0 and <= 100
            ? new CompensationCall("sample.scale", JsonSerializer.SerializeToElement(new { replicas }))
            : null;

    // 1.1.0: the contracts gained input and output schemas; a changed descriptor is a new version.
    // 1.2.0: limits, cost and tags; sample.scale names its compensating tool (itself, back to the previous count).
    private static ToolDescriptor[] CreateDescriptors()
    {
        var timeout = TimeSpan.FromSeconds(10);
        return
        [
            new("sample.health", "1.2.0", "Reads the service's health.", RiskLevel.Low, SideEffect.ReadOnly, Idempotent: true, timeout, 16 * 1024)
            {
                InputSchema = HealthInput,
                OutputSchema = HealthOutput,
                Cost = 1,
                Tags = ["sample", "read"],
            },
            new("sample.diagnostics", "1.2.0", "Reads the service's diagnostics: error rate, latency, recent events.", RiskLevel.Low, SideEffect.ReadOnly, Idempotent: true, timeout, 32 * 1024)
            {
                InputSchema = DiagnosticsInput,
                OutputSchema = DiagnosticsOutput,
                Cost = 1,
                Tags = ["sample", "read", "diagnostics"],
            },
            // Restarts and scaling disrupt the fleet: a few at a time per host, and a ceiling per minute that a looping
            // agent hits long before it hurts.
            new("sample.restart", "1.2.0", "Restarts the service's instances.", RiskLevel.High, SideEffect.Reversible, Idempotent: true, timeout, 16 * 1024)
            {
                InputSchema = RestartInput,
                OutputSchema = RestartOutput,
                MaxConcurrency = 4,
                RateLimit = new(30, TimeSpan.FromMinutes(1)),
                Cost = 5,
                Tags = ["sample", "remediation"],
            },
            new("sample.scale", "1.2.0", "Sets the service's replica count.", RiskLevel.Medium, SideEffect.Reversible, Idempotent: true, timeout, 16 * 1024)
            {
                InputSchema = ScaleInput,
                OutputSchema = ScaleOutput,
                MaxConcurrency = 4,
                RateLimit = new(60, TimeSpan.FromMinutes(1)),
                CompensatingTool = "sample.scale",
                Cost = 3,
                Tags = ["sample", "remediation", "capacity"],
            },
            // Writing a record changes nothing but the record (a later write replaces it, a reviewer sees it): low risk,
            // reversible, and data entry, since its arguments are what a model extracted from a document. The register's
            // assessment of the fields, not the model, says how risky the contract is.
            new("contract.record", "1.0.0", "Records a contract's extracted fields (title, parties, dates, value, notable clauses) in the contract register, under the run's target; the register scores the contract's risk from its value, term and clause kinds and puts a high-risk contract on its review queue.",
                RiskLevel.Low, SideEffect.Reversible, Idempotent: true, timeout, 16 * 1024)
            {
                InputSchema = ContractInput,
                OutputSchema = ContractRecordOutput,
                AssessmentSchema = ContractAssessment,
                DataEntry = true,
                MaxConcurrency = 8,
                RateLimit = new(120, TimeSpan.FromMinutes(1)),
                Cost = 2,
                Tags = ["contract", "record"],
            },
        ];
    }
}
