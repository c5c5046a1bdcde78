using System.Text;
using System.Text.Json;
using Agentic.Core.Agents;
using Agentic.Core.Runs;

namespace Agentic.Core.Tests.Runs;

public sealed class RunRequestParserTests
{
    private const string Valid = """{"agent":"scaler","target":"https://svc.test/api"}""";

    [Fact]
    public void ValidBody_MapsEveryField_AndTakesThePrincipalFromTheCaller()
    {
        var request = Parse(environment: "staging", body: """
            {
              "agent": "scaler",
              "goal": "Handle the spike.",
              "target": "https://svc.test/api",
              "idempotencyKey": "key-42",
              "environment": "staging",
              "parameters": { "replicas": 5 },
              "approvalTimeoutSeconds": 600,
              "deadlineSeconds": 7200
            }
            """);

        Assert.Equal("scaler", request.Agent);
        Assert.Equal("Handle the spike.", request.Goal);
        Assert.Equal("https://svc.test/api", request.Target);
        Assert.Equal("alice", request.Principal);
        Assert.Equal("key-42", request.IdempotencyKey);
        Assert.Equal("staging", request.Environment);
        Assert.Equal(5, request.Parameters?.GetProperty("replicas").GetInt32());
        Assert.Equal(TimeSpan.FromMinutes(10), request.ApprovalTimeout);
        Assert.Equal(TimeSpan.FromHours(2), request.Deadline);
    }

    [Fact]
    public void MinimalBody_GetsTheDefaults()
    {
        var request = Parse(Valid);

        Assert.Null(request.Goal);
        Assert.Null(request.IdempotencyKey);
        Assert.Null(request.Parameters);
        Assert.Equal("dev", request.Environment);
        Assert.Equal(TimeSpan.FromHours(1), request.ApprovalTimeout);
        Assert.Equal(TimeSpan.FromHours(4), request.Deadline);
    }

    [Fact]
    public void TheAgentsReplanMode_IsFixedIntoTheRequest_WithItsGuards()
    {
        var task = Parse("""{"agent":"task","target":"https://svc.test/api","goal":"Scale it."}""");
        var scaler = Parse(Valid);

        Assert.Equal(ReplanMode.AfterEachAction, task.Replan);
        Assert.Equal(AgentCatalog.Default.Get("task").Guards, task.Guards);
        Assert.Null(scaler.Replan);
        Assert.DoesNotContain("replan", Agentic.Core.Json.AgenticJson.ToElement(scaler).GetRawText(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"agent":"scaler","target":"http://x","approvalTimeoutSeconds":1,"deadlineSeconds":1}""")]
    [InlineData("""{"agent":"scaler","target":"http://x","approvalTimeoutSeconds":604800,"deadlineSeconds":2592000}""")]
    [InlineData("""{"agent":"diagnostics","target":"http://x","environment":"prod","parameters":{}}""")]
    public void BoundaryValues_AreAccepted(string json)
    {
        Assert.Equal("alice", Parse(json, "prod").Principal);
    }

    [Fact]
    public void Environment_NamingAnotherThanTheDeployments_IsRejectedNamingBoth()
    {
        var error = Assert.Throws<InputException>(() => Parse(WithField("environment", "dev"), "prod"));

        Assert.Equal(
            new InputError("environment", "This deployment's environment is 'prod'; the request names 'dev'. Runs always run in the deployment's environment: leave 'environment' out."),
            Assert.Single(error.Errors));
    }

    [Theory]
    [InlineData("prod")]
    [InlineData("test")]
    public void Environment_LeftOut_IsTheDeployments(string deployment)
    {
        Assert.Equal(deployment, Parse(Valid, deployment).Environment);
    }

    [Fact]
    public void Environment_NamingTheDeployments_IsAccepted()
    {
        Assert.Equal("prod", Parse(WithField("environment", "prod"), "prod").Environment);
    }

    [Fact]
    public void IdempotencyKey_Of128Characters_IsAccepted()
    {
        Assert.Equal(128, Parse(WithField("idempotencyKey", new string('k', 128))).IdempotencyKey?.Length);
    }

    [Fact]
    public void EmptyBody_IsRejected()
    {
        var error = Reject("", "Request body required");

        Assert.Equal(new InputError("$", "The body is empty; send a JSON object."), Assert.Single(error.Errors));
    }

    [Fact]
    public void NullBody_IsRejected()
    {
        var error = Reject("null", "Request body required");

        Assert.Equal(new InputError("$", "The body is JSON null; send a JSON object."), Assert.Single(error.Errors));
    }

    [Fact]
    public void OversizeBody_IsRejectedBeforeParsing()
    {
        var body = new string('x', RunRequestParser.MaxBodyBytes + 1);

        var error = Reject(body, "Request body too large");

        Assert.Equal(new InputError("$", "The body is 65537 bytes; the limit is 65536."), Assert.Single(error.Errors));
    }

    [Fact]
    public void BodyOfExactlyTheLimit_IsParsed()
    {
        var body = Valid + new string(' ', RunRequestParser.MaxBodyBytes - Valid.Length);

        Assert.Equal("scaler", Parse(body).Agent);
    }

    [Theory]
    [InlineData("""{"agent": """, "$.agent", "(line 1, byte 11)")]
    [InlineData("{\"agent\":\"scaler\",\n\"target\": http}", "$.target", "(line 2, byte 11)")]
    [InlineData("not json", "$", "(line 1, byte 2)")]
    [InlineData("[]", "$", "(line 1, byte 2)")]
    [InlineData("\"scaler\"", "$", "(line 1, byte 9)")]
    [InlineData("""{"agent":"scaler","target":"http://x","deadlineSeconds":"ten"}""", "$.deadlineSeconds", "(line 1, byte 62)")]
    public void MalformedJson_IsRejected_NamingWhereItBroke(string body, string field, string position)
    {
        var error = Assert.Single(Reject(body, "Malformed JSON").Errors);

        Assert.Equal(field, error.Field);
        Assert.EndsWith(position, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("bogus")]
    [InlineData("principal")]
    public void UnknownField_IsRejected_NamingTheField(string name)
    {
        var error = Assert.Single(Reject(WithField(name, "x"), "Malformed JSON").Errors);

        Assert.Equal("$." + name, error.Field);
        Assert.StartsWith($"The JSON property '{name}' could not be mapped to any .NET member", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownAgent_IsRejected_ListingTheKnownAgents()
    {
        var error = Reject("""{"agent":"nope","target":"http://x"}""", "Invalid run request");

        Assert.Equal(new InputError("agent", "Unknown agent 'nope'. Known agents: contract-intake, diagnostics, scaler, service-healer, task."), Assert.Single(error.Errors));
    }

    [Theory]
    [InlineData("ftp://svc.test")]
    [InlineData("file:///etc/passwd")]
    [InlineData("not a uri")]
    [InlineData("/relative/path")]
    public void BadTarget_IsRejected(string target)
    {
        var error = Reject($$"""{"agent":"scaler","target":"{{target}}"}""", "Invalid run request");

        Assert.Equal(new InputError("target", "Must be an absolute http or https URI."), Assert.Single(error.Errors));
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("""{"agent":" ","target":""}""")]
    public void MissingAgentAndTarget_AreBothReported(string body)
    {
        var error = Reject(body, "Invalid run request");

        Assert.Equal([new InputError("agent", "Required."), new InputError("target", "Required.")], error.Errors);
    }

    [Theory]
    [InlineData("environment", "\"qa\"", "This deployment's environment is 'dev'; the request names 'qa'. Runs always run in the deployment's environment: leave 'environment' out.")]
    [InlineData("idempotencyKey", "\"\"", "Must be 1 to 128 printable characters.")]
    [InlineData("idempotencyKey", "\"a\\u0007b\"", "Must be 1 to 128 printable characters.")]
    [InlineData("parameters", "[1]", "Must be a JSON object.")]
    [InlineData("parameters", "\"replicas=3\"", "Must be a JSON object.")]
    [InlineData("approvalTimeoutSeconds", "0", "Must be between 1 and 604800.")]
    [InlineData("approvalTimeoutSeconds", "604801", "Must be between 1 and 604800.")]
    [InlineData("deadlineSeconds", "0", "Must be between 1 and 2592000.")]
    [InlineData("deadlineSeconds", "2592001", "Must be between 1 and 2592000.")]
    public void InvalidField_IsRejected_NamingTheField(string field, string rawValue, string message)
    {
        var body = Valid[..^1] + $",\"{field}\":{rawValue}}}";

        var error = Reject(body, "Invalid run request");

        Assert.Equal(new InputError(field, message), Assert.Single(error.Errors));
    }

    [Fact]
    public void OverlongGoalAndKey_AreRejected()
    {
        var body = $$"""{"agent":"scaler","target":"http://x","goal":"{{new string('g', 2001)}}","idempotencyKey":"{{new string('k', 129)}}"}""";

        var error = Reject(body, "Invalid run request");

        Assert.Equal([new InputError("idempotencyKey", "Must be 1 to 128 printable characters."), new InputError("goal", "At most 2000 characters.")], error.Errors);
    }

    [Fact]
    public void EveryProblem_IsReportedAtOnce_AndTheMessageListsThem()
    {
        var error = Reject("""{"agent":"nope","target":"ftp://x","environment":"qa"}""", "Invalid run request");

        Assert.Equal(["agent", "target", "environment"], error.Errors.Select(e => e.Field));
        Assert.StartsWith("Invalid run request: agent: Unknown agent 'nope'.", error.Message, StringComparison.Ordinal);
        Assert.Contains("; target: Must be an absolute http or https URI.; environment: ", error.Message, StringComparison.Ordinal);
    }

    private static RunRequest Parse(string body, string environment = "dev") =>
        RunRequestParser.Parse(Encoding.UTF8.GetBytes(body), "alice", environment == "dev" ? Admissions.Default : Admissions.For(environment));

    private static InputException Reject(string body, string title)
    {
        var error = Assert.Throws<InputException>(() => Parse(body));
        Assert.Equal(title, error.Title);
        return error;
    }

    private static string WithField(string name, string value) => Valid[..^1] + $",{JsonSerializer.Serialize(name)}:{JsonSerializer.Serialize(value)}}}";
}
