using Agentic.Core.Policy.Language;

namespace Agentic.Core.Tests.Policy.Language;

public sealed class GlobTests
{
    [Theory]
    [InlineData("", "", true)]
    [InlineData("", "a", false)]
    [InlineData("*", "", true)]
    [InlineData("*", "anything", true)]
    [InlineData("**", "x", true)]
    [InlineData("?", "", false)]
    [InlineData("?", "a", true)]
    [InlineData("??", "a", false)]
    [InlineData("a*", "abc", true)]
    [InlineData("a*", "ba", false)]
    [InlineData("*c", "abc", true)]
    [InlineData("*b*", "abc", true)]
    [InlineData("*b*", "ac", false)]
    [InlineData("a*b*c", "aXbYc", true)]
    [InlineData("a*b*c", "aXbY", false)]
    [InlineData("a*b?d", "abbbcd", true)]
    [InlineData("*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false)]
    [InlineData(@"a\*", "a*", true)]
    [InlineData(@"a\*", "ab", false)]
    [InlineData(@"a\?", "a?", true)]
    [InlineData(@"a\\b", @"a\b", true)]
    [InlineData("x.*.y", "x..y", true)]
    public void IsMatch_MatchesTheWholeString(string pattern, string text, bool expected)
    {
        Assert.Equal(expected, new Glob(pattern).IsMatch(text));
    }
}
