using System.Globalization;
using Agentic.Core.Policy.Language;

namespace Agentic.Core.Tests.Policy.Language;

public sealed class SyntaxTests
{
    [Fact]
    public void Lexer_ReadsEveryTokenKind_WithOffsets()
    {
        var tokens = Lexer.Tokenize("tool.name == 'a' && !(x.y != \"b\") || n < -1.5 <= >= > [true, false] in matches");

        Assert.Equal(
            [TokenKind.Name, TokenKind.Eq, TokenKind.String, TokenKind.And, TokenKind.Not, TokenKind.LParen, TokenKind.Name, TokenKind.Ne, TokenKind.String, TokenKind.RParen,
             TokenKind.Or, TokenKind.Name, TokenKind.Lt, TokenKind.Number, TokenKind.Le, TokenKind.Ge, TokenKind.Gt, TokenKind.LBracket, TokenKind.True, TokenKind.Comma,
             TokenKind.False, TokenKind.RBracket, TokenKind.In, TokenKind.Matches, TokenKind.End],
            tokens.Select(t => t.Kind));
        Assert.Equal((0, 9, "tool.name"), (tokens[0].Offset, tokens[0].Length, tokens[0].Text));
        Assert.Equal((13, 3, "a"), (tokens[2].Offset, tokens[2].Length, tokens[2].Text));
        Assert.Equal(-1.5, tokens[13].Number);
    }

    [Theory]
    [InlineData(@"'it\'s'", "it's")]
    [InlineData(@"""say \""hi\""""", "say \"hi\"")]
    [InlineData(@"'back\\slash'", @"back\slash")]
    [InlineData(@"""'single' inside""", "'single' inside")]
    public void Lexer_DecodesStringEscapes(string literal, string value)
    {
        var token = Lexer.Tokenize(literal)[0];

        Assert.Equal(TokenKind.String, token.Kind);
        Assert.Equal(value, token.Text);
    }

    [Fact]
    public void Lexer_AllowsDashesInsideArgumentNames()
    {
        var token = Lexer.Tokenize("args.dry-run")[0];

        Assert.Equal("args.dry-run", token.Text);
    }

    [Theory]
    [InlineData("a || b && c", "(|| a (&& b c))")]
    [InlineData("a && b || c", "(|| (&& a b) c)")]
    [InlineData("(a || b) && c", "(&& (|| a b) c)")]
    [InlineData("!a && b", "(&& (! a) b)")]
    [InlineData("!(a && b)", "(! (&& a b))")]
    [InlineData("!!a", "(! (! a))")]
    [InlineData("x.y == 'v' || x.z in [1, 2]", "(|| (== x.y 'v') (in x.z [1 2]))")]
    [InlineData("a.b matches 'x*' && a.c >= 3", "(&& (matches a.b 'x*') (>= a.c 3))")]
    [InlineData("'admin' in principal.roles", "(in 'admin' principal.roles)")]
    [InlineData("x in []", "(in x [])")]
    [InlineData("true", "true")]
    public void Parser_RespectsPrecedenceAndParentheses(string text, string tree)
    {
        Assert.Equal(tree, Print(Parser.Parse(text)));
    }

    [Fact]
    public void Parser_RecordsSpansOfNodes()
    {
        var root = (BinaryExpr)Parser.Parse("tool.name == 'a' && context.hour < 5");

        Assert.Equal((0, 36), (root.Offset, root.Length));
        Assert.Equal((0, 16), (root.Left.Offset, root.Left.Length));
        Assert.Equal(17, root.OpOffset);
        Assert.Equal((20, 16), (root.Right.Offset, root.Right.Length));
    }

    [Theory]
    [InlineData("tool.name = 'a'", 10, "syntax error: '=' is not an operator (use '==')")]
    [InlineData("a & b", 2, "syntax error: '&' is not an operator (use '&&')")]
    [InlineData("a | b", 2, "syntax error: '|' is not an operator (use '||')")]
    [InlineData("a == 'open", 5, "syntax error: unterminated string")]
    [InlineData(@"a == 'x\n'", 7, @"syntax error: invalid escape '\n' (only \\, \' and \"" are allowed)")]
    [InlineData("a == $x", 5, "syntax error: unexpected character '$'")]
    [InlineData("a == 1.2.3", 5, "syntax error: invalid number '1.2.3'")]
    [InlineData("a. == 1", 2, "syntax error: expected a name after '.'")]
    [InlineData("a ==", 4, "syntax error: unexpected end of condition, expected an attribute, a literal, '(' or '['")]
    [InlineData("(a == 1", 7, "syntax error: unexpected end of condition, expected ')'")]
    [InlineData("a == 1)", 6, "syntax error: unexpected ')', expected an operator or the end of the condition")]
    [InlineData("a == 1 b", 7, "syntax error: unexpected 'b', expected an operator or the end of the condition")]
    [InlineData("a == 1 and b", 7, "syntax error: 'and' is not an operator (use '&&')")]
    [InlineData("a or b", 2, "syntax error: 'or' is not an operator (use '||')")]
    [InlineData("not a", 0, "syntax error: 'not' is not an operator (use '!')")]
    [InlineData("a < b < c", 6, "syntax error: unexpected '<' (comparisons can not be chained; use '&&')")]
    [InlineData("a in [b]", 6, "syntax error: list items must be string, number or bool literals")]
    [InlineData("a in [1 2]", 8, "syntax error: unexpected '2', expected ',' or ']'")]
    [InlineData("a in [1,", 8, "syntax error: unexpected end of condition, expected a list item")]
    [InlineData("   ", 0, "syntax error: empty condition (omit 'when' to match every request)")]
    public void Parser_ReportsTheOffendingOffset(string text, int offset, string message)
    {
        var ex = Assert.Throws<ConditionSyntaxException>(() => Parser.Parse(text));

        Assert.Equal(message, ex.Message);
        Assert.Equal(offset, ex.Offset);
    }

    [Fact]
    public void Parser_RefusesNestingBeyondItsLimit()
    {
        var text = new string('(', 65) + "a" + new string(')', 65);

        var ex = Assert.Throws<ConditionSyntaxException>(() => Parser.Parse(text));

        Assert.Equal("syntax error: the condition nests deeper than 64 levels", ex.Message);
        Assert.Equal(64, ex.Offset);
    }

    private static string Print(Expr expr) => expr switch
    {
        AttributeRef a => a.Path,
        StringLiteral s => $"'{s.Value}'",
        NumberLiteral n => n.Value.ToString(CultureInfo.InvariantCulture),
        BoolLiteral b => b.Value ? "true" : "false",
        ListLiteral l => "[" + string.Join(" ", l.Items.Select(Print)) + "]",
        NotExpr n => $"(! {Print(n.Operand)})",
        BinaryExpr b => $"({BinaryExpr.Symbol(b.Op)} {Print(b.Left)} {Print(b.Right)})",
        _ => "?",
    };
}
