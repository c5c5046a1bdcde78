using Agentic.Core.Runs;

namespace Agentic.Core.Tests.Runs;

public sealed class PrincipalIdsTests
{
    [Theory]
    [InlineData("alice", "ALICE")]
    [InlineData("alice", "\uFF41\uFF4C\uFF49\uFF43\uFF45")]
    [InlineData("jos\u00E9", "jose\u0301")]
    [InlineData("JOS\u00C9", "jose\u0301")]
    [InlineData("alice", "al\u200Bice")]
    [InlineData("alice", " alice ")]
    public void Same_TreatsCaseWidthCompositionAndInvisibleCharactersAsOnePerson(string a, string b)
    {
        Assert.True(PrincipalIds.Same(a, b));
        Assert.Equal(PrincipalIds.Comparer.GetHashCode(a), PrincipalIds.Comparer.GetHashCode(b));
    }

    [Theory]
    [InlineData("alice", "alicia")]
    [InlineData("jose", "jos\u00E9")]
    [InlineData("operator-1", "operator-2")]
    public void Same_KeepsDifferentPeopleApart(string a, string b) => Assert.False(PrincipalIds.Same(a, b));

    [Fact]
    public void Approvals_FromVariantsOfOneId_CountAsOneApprover()
    {
        var approvers = new[] { "operator-1", "OPERATOR-1", "\uFF4F\uFF50\uFF45\uFF52\uFF41\uFF54\uFF4F\uFF52-1", "operator-2" };

        Assert.Equal(2, approvers.Distinct(PrincipalIds.Comparer).Count());
    }
}
