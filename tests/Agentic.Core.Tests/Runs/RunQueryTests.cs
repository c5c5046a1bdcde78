using System.Text.Json;
using Agentic.Core.Runs;

namespace Agentic.Core.Tests.Runs;

/// <summary>The queries of the list routes: strict parameters, bounded pages, and continuation tokens bound to their filters.</summary>
public sealed class RunQueryTests
{
    private static IEnumerable<KeyValuePair<string, IReadOnlyList<string?>>> Query(params (string Key, string? Value)[] parameters) =>
        parameters.GroupBy(p => p.Key).Select(g => new KeyValuePair<string, IReadOnlyList<string?>>(g.Key, [.. g.Select(p => p.Value)]));

    private static string[] Fields(Action parse) => [.. Assert.Throws<InputException>(parse).Errors.Select(e => e.Field)];

    [Fact]
    public void RunQuery_NoParameters_IsEveryRunInPagesOf25()
    {
        var query = RunListQuery.Parse(Query());

        Assert.Equal(new RunListQuery(), query);
        Assert.Equal(25, query.Top);
    }

    [Fact]
    public void RunQuery_EveryFilter_IsRead()
    {
        var query = RunListQuery.Parse(Query(("status", "failed"), ("agent", "scaler"), ("principal", "alice"), ("createdFrom", "2026-01-01T00:00:00Z"),
            ("createdTo", "2026-01-02T12:30:00+02:00"), ("top", "100"), ("code", "the-key")));

        Assert.Equal("failed", query.Status);
        Assert.Equal("scaler", query.Agent);
        Assert.Equal("alice", query.Principal);
        Assert.Equal(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), query.CreatedFrom);
        Assert.Equal(new DateTimeOffset(2026, 1, 2, 10, 30, 0, TimeSpan.Zero), query.CreatedTo);
        Assert.Equal(100, query.Top);
    }

    [Theory]
    [InlineData("status", "sleeping")]
    [InlineData("top", "0")]
    [InlineData("top", "101")]
    [InlineData("top", "ten")]
    [InlineData("top", "-1")]
    [InlineData("createdFrom", "yesterday")]
    [InlineData("createdTo", "2026-13-01")]
    [InlineData("colour", "blue")]
    [InlineData("agent", " ")]
    public void RunQuery_BadParameter_IsRefusedNamingIt(string name, string value) =>
        Assert.Equal([name], Fields(() => RunListQuery.Parse(Query((name, value)))));

    [Fact]
    public void RunQuery_ParameterGivenTwice_IsRefused() =>
        Assert.Equal(["status"], Fields(() => RunListQuery.Parse(Query(("status", "failed"), ("status", "running")))));

    [Fact]
    public void RunQuery_CreatedToBeforeCreatedFrom_IsRefusedNamingCreatedTo() =>
        Assert.Equal(["createdTo"], Fields(() => RunListQuery.Parse(Query(("createdFrom", "2026-02-01T00:00:00Z"), ("createdTo", "2026-01-01T00:00:00Z")))));

    [Fact]
    public void RunQuery_SeveralProblems_AreAllNamed() =>
        Assert.Equal(["status", "top"], Fields(() => RunListQuery.Parse(Query(("status", "x"), ("top", "1000")))).Order(StringComparer.Ordinal));

    [Fact]
    public void Token_RoundTripsTheEnginesToken_UnderTheSameFilters()
    {
        var query = new RunListQuery(Status: "running", Principal: "alice");

        var token = ListPaging.Encode("engine-token-1", query.Scope());

        Assert.NotNull(token);
        Assert.DoesNotContain("engine-token-1", token, StringComparison.Ordinal);
        Assert.Equal("engine-token-1", ListPaging.Decode(token, query.Scope()));
        // The page size may change from page to page, and the principal is compared as a person.
        Assert.Equal("engine-token-1", ListPaging.Decode(token, (query with { Top = 7, Principal = "ALICE" }).Scope()));
        Assert.Null(ListPaging.Encode(null, query.Scope()));
        Assert.Null(ListPaging.Decode(null, query.Scope()));
    }

    [Fact]
    public void Token_UnderOtherFilters_IsRefused()
    {
        var token = ListPaging.Encode("engine-token-1", new RunListQuery(Principal: "alice").Scope());

        var error = Assert.Single(Assert.Throws<InputException>(() => ListPaging.Decode(token, new RunListQuery(Principal: "bob").Scope())).Errors);

        Assert.Equal("continuationToken", error.Field);
        Assert.Contains("other filters", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not a token")]
    [InlineData("e30")]
    [InlineData("eyJWIjoyLCJTIjoieCIsIkUiOiJ5In0")]
    public void Token_NotIssuedByTheApi_IsRefused(string token) =>
        Assert.Equal("continuationToken", Assert.Single(Assert.Throws<InputException>(() => ListPaging.Decode(token, new RunListQuery().Scope())).Errors).Field);

    [Fact]
    public void ApprovalQuery_OnlyPendingAndARole()
    {
        Assert.Equal(new ApprovalListQuery("operator", 5), ApprovalListQuery.Parse(Query(("status", "pending"), ("role", "operator"), ("top", "5"))));
        Assert.Equal(["status"], Fields(() => ApprovalListQuery.Parse(Query(("status", "approved")))));
        Assert.Equal(["agent"], Fields(() => ApprovalListQuery.Parse(Query(("agent", "scaler")))));
    }

    [Fact]
    public void ApprovalToken_IsBoundToTheCaller()
    {
        var query = new ApprovalListQuery("operator");
        var token = ListPaging.Encode("t", query.Scope("operator-1"));

        Assert.Equal("t", ListPaging.Decode(token, query.Scope("OPERATOR-1")));
        Assert.Throws<InputException>(() => ListPaging.Decode(token, query.Scope("operator-2")));
    }

    [Fact]
    public void MayDecide_NeedsTheRole_NotTheRequester_AndNoEarlierApproval()
    {
        var pending = new PendingApprovalView("s2", "sample.scale", "sha256:a", "operator") { Quorum = 2, ApprovedBy = ["operator-1"] };

        Assert.True(ApprovalRules.MayDecide(pending, "alice", "operator-2", ["operator"]));
        Assert.False(ApprovalRules.MayDecide(pending, "alice", "OPERATOR-1", ["operator"]));
        Assert.False(ApprovalRules.MayDecide(pending, "operator-2", "operator-2", ["operator"]));
        Assert.False(ApprovalRules.MayDecide(pending, "alice", "operator-2", ["requester"]));
        Assert.False(ApprovalRules.MayDecide(pending, "alice", ApprovalRules.Anonymous, ["operator"]));
    }

    [Fact]
    public void ArgumentSummary_IsCompactJson_CutAtItsBound()
    {
        using var small = JsonDocument.Parse("""{ "replicas" : 12,  "reason": "load" }""");
        using var large = JsonDocument.Parse(JsonSerializer.Serialize(new { text = new string('x', 1000) }));

        Assert.Equal("""{"replicas":12,"reason":"load"}""", ArgumentSummary.Of(small.RootElement));
        var cut = ArgumentSummary.Of(large.RootElement);
        Assert.Equal(ArgumentSummary.MaxChars, cut.Length);
        Assert.EndsWith("…", cut, StringComparison.Ordinal);
    }
}
