using System.Globalization;

namespace Agentic.Core.Policy.Language;

internal enum TokenKind
{
    Name,
    String,
    Number,
    True,
    False,
    In,
    Matches,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
    Not,
    End,
}

/// <summary>A token of a condition; <see cref="Offset"/> and <see cref="Length"/> locate it in the condition text.</summary>
internal readonly record struct Token(TokenKind Kind, int Offset, int Length, string Text, double Number = 0);

/// <summary>A condition does not parse; <see cref="Offset"/> is where in the condition text.</summary>
internal sealed class ConditionSyntaxException(string message, int offset) : Exception(message)
{
    public int Offset { get; } = offset;
}

/// <summary>The hand-written lexer of the condition language.</summary>
internal static class Lexer
{
    public static List<Token> Tokenize(string text)
    {
        var tokens = new List<Token>();
        var i = 0;
        while (true)
        {
            while (i < text.Length && char.IsWhiteSpace(text[i]))
            {
                i++;
            }
            if (i >= text.Length)
            {
                tokens.Add(new(TokenKind.End, text.Length, 0, ""));
                return tokens;
            }
            var c = text[i];
            var next = i + 1 < text.Length ? text[i + 1] : '\0';
            switch (c)
            {
                case '(': tokens.Add(new(TokenKind.LParen, i++, 1, "(")); break;
                case ')': tokens.Add(new(TokenKind.RParen, i++, 1, ")")); break;
                case '[': tokens.Add(new(TokenKind.LBracket, i++, 1, "[")); break;
                case ']': tokens.Add(new(TokenKind.RBracket, i++, 1, "]")); break;
                case ',': tokens.Add(new(TokenKind.Comma, i++, 1, ",")); break;
                case '=' when next == '=': tokens.Add(new(TokenKind.Eq, i, 2, "==")); i += 2; break;
                case '=': throw new ConditionSyntaxException("syntax error: '=' is not an operator (use '==')", i);
                case '!' when next == '=': tokens.Add(new(TokenKind.Ne, i, 2, "!=")); i += 2; break;
                case '!': tokens.Add(new(TokenKind.Not, i++, 1, "!")); break;
                case '<' when next == '=': tokens.Add(new(TokenKind.Le, i, 2, "<=")); i += 2; break;
                case '<': tokens.Add(new(TokenKind.Lt, i++, 1, "<")); break;
                case '>' when next == '=': tokens.Add(new(TokenKind.Ge, i, 2, ">=")); i += 2; break;
                case '>': tokens.Add(new(TokenKind.Gt, i++, 1, ">")); break;
                case '&' when next == '&': tokens.Add(new(TokenKind.And, i, 2, "&&")); i += 2; break;
                case '&': throw new ConditionSyntaxException("syntax error: '&' is not an operator (use '&&')", i);
                case '|' when next == '|': tokens.Add(new(TokenKind.Or, i, 2, "||")); i += 2; break;
                case '|': throw new ConditionSyntaxException("syntax error: '|' is not an operator (use '||')", i);
                case '\'' or '"': tokens.Add(ReadString(text, ref i)); break;
                default:
                    if (char.IsAsciiDigit(c) || (c == '-' && char.IsAsciiDigit(next)))
                    {
                        tokens.Add(ReadNumber(text, ref i));
                    }
                    else if (IsNameStart(c))
                    {
                        tokens.Add(ReadName(text, ref i));
                    }
                    else
                    {
                        throw new ConditionSyntaxException($"syntax error: unexpected character '{c}'", i);
                    }
                    break;
            }
        }
    }

    private static bool IsNameStart(char c) => char.IsAsciiLetter(c) || c == '_';

    private static bool IsNamePart(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or '-';

    private static Token ReadString(string text, ref int i)
    {
        var start = i;
        var quote = text[i++];
        var value = new System.Text.StringBuilder();
        while (true)
        {
            if (i >= text.Length || text[i] is '\n' or '\r')
            {
                throw new ConditionSyntaxException("syntax error: unterminated string", start);
            }
            var c = text[i];
            if (c == quote)
            {
                i++;
                return new(TokenKind.String, start, i - start, value.ToString());
            }
            if (c == '\\')
            {
                var escaped = i + 1 < text.Length ? text[i + 1] : '\0';
                if (escaped is not ('\\' or '\'' or '"'))
                {
                    throw new ConditionSyntaxException($"syntax error: invalid escape '\\{escaped}' (only \\\\, \\' and \\\" are allowed)", i);
                }
                value.Append(escaped);
                i += 2;
                continue;
            }
            value.Append(c);
            i++;
        }
    }

    private static Token ReadNumber(string text, ref int i)
    {
        var start = i;
        if (text[i] == '-')
        {
            i++;
        }
        while (i < text.Length && char.IsAsciiDigit(text[i]))
        {
            i++;
        }
        if (i + 1 < text.Length && text[i] == '.' && char.IsAsciiDigit(text[i + 1]))
        {
            i++;
            while (i < text.Length && char.IsAsciiDigit(text[i]))
            {
                i++;
            }
        }
        if (i < text.Length && (IsNamePart(text[i]) || text[i] == '.'))
        {
            var end = i;
            while (end < text.Length && (IsNamePart(text[end]) || text[end] == '.'))
            {
                end++;
            }
            throw new ConditionSyntaxException($"syntax error: invalid number '{text[start..end]}'", start);
        }
        var literal = text[start..i];
        return new(TokenKind.Number, start, i - start, literal, double.Parse(literal, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture));
    }

    private static Token ReadName(string text, ref int i)
    {
        var start = i;
        while (true)
        {
            while (i < text.Length && IsNamePart(text[i]))
            {
                i++;
            }
            if (i < text.Length && text[i] == '.')
            {
                if (i + 1 >= text.Length || !IsNameStart(text[i + 1]))
                {
                    throw new ConditionSyntaxException("syntax error: expected a name after '.'", i + 1);
                }
                i++;
                continue;
            }
            break;
        }
        var name = text[start..i];
        var kind = name switch
        {
            "true" => TokenKind.True,
            "false" => TokenKind.False,
            "in" => TokenKind.In,
            "matches" => TokenKind.Matches,
            _ => TokenKind.Name,
        };
        return new(kind, start, i - start, name);
    }
}

/// <summary>A node of a parsed condition, with its span in the condition text.</summary>
internal abstract class Expr(int offset, int length)
{
    public int Offset { get; private set; } = offset;
    public int Length { get; private set; } = length;
    public int End => Offset + Length;

    /// <summary>Takes in the parentheses around the node, so its text is what the author wrote.</summary>
    public void Enclose(int open, int close)
    {
        Offset = open;
        Length = close + 1 - open;
    }
}

internal sealed class StringLiteral(string value, int offset, int length) : Expr(offset, length)
{
    public string Value { get; } = value;
}

internal sealed class NumberLiteral(double value, int offset, int length) : Expr(offset, length)
{
    public double Value { get; } = value;
}

internal sealed class BoolLiteral(bool value, int offset, int length) : Expr(offset, length)
{
    public bool Value { get; } = value;
}

internal sealed class ListLiteral(IReadOnlyList<Expr> items, int offset, int length) : Expr(offset, length)
{
    public IReadOnlyList<Expr> Items { get; } = items;
}

internal sealed class AttributeRef(string path, int offset, int length) : Expr(offset, length)
{
    public string Path { get; } = path;

    /// <summary>Set by the type checker when the path names a known attribute.</summary>
    public AttributeInfo? Info { get; set; }
}

internal enum BinaryOp
{
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    Matches,
    And,
    Or,
}

internal sealed class BinaryExpr(BinaryOp op, Expr left, Expr right, int opOffset) : Expr(left.Offset, right.End - left.Offset)
{
    public BinaryOp Op { get; } = op;
    public Expr Left { get; } = left;
    public Expr Right { get; } = right;
    public int OpOffset { get; } = opOffset;

    public static string Symbol(BinaryOp op) => op switch
    {
        BinaryOp.Eq => "==",
        BinaryOp.Ne => "!=",
        BinaryOp.Lt => "<",
        BinaryOp.Le => "<=",
        BinaryOp.Gt => ">",
        BinaryOp.Ge => ">=",
        BinaryOp.In => "in",
        BinaryOp.Matches => "matches",
        BinaryOp.And => "&&",
        _ => "||",
    };
}

internal sealed class NotExpr(Expr operand, int offset) : Expr(offset, operand.End - offset)
{
    public Expr Operand { get; } = operand;
}

/// <summary>
/// Recursive descent over <see cref="Lexer"/> tokens. Precedence, loosest first: <c>||</c>, <c>&amp;&amp;</c>,
/// <c>!</c>, then one (non-chaining) comparison: <c>== != &lt; &lt;= &gt; &gt;= in matches</c>.
/// </summary>
internal sealed class Parser
{
    private const int MaxDepth = 64;
    private readonly string _text;
    private readonly List<Token> _tokens;
    private int _position;
    private int _depth;

    private Parser(string text, List<Token> tokens)
    {
        _text = text;
        _tokens = tokens;
    }

    /// <summary>Parses <paramref name="text"/>; throws <see cref="ConditionSyntaxException"/> at the first error.</summary>
    public static Expr Parse(string text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new ConditionSyntaxException("syntax error: empty condition (omit 'when' to match every request)", 0);
        }
        var parser = new Parser(text, Lexer.Tokenize(text));
        var expr = parser.ParseOr();
        var token = parser.Peek;
        if (token.Kind != TokenKind.End)
        {
            throw parser.Unexpected(token, "an operator or the end of the condition");
        }
        return expr;
    }

    private Token Peek => _tokens[_position];

    private Token Next() => _tokens[_position++];

    private Expr ParseOr()
    {
        var left = ParseAnd();
        while (Peek.Kind == TokenKind.Or)
        {
            var op = Next();
            left = new BinaryExpr(BinaryOp.Or, left, ParseAnd(), op.Offset);
        }
        return left;
    }

    private Expr ParseAnd()
    {
        var left = ParseUnary();
        while (Peek.Kind == TokenKind.And)
        {
            var op = Next();
            left = new BinaryExpr(BinaryOp.And, left, ParseUnary(), op.Offset);
        }
        return left;
    }

    private Expr ParseUnary()
    {
        if (Peek.Kind != TokenKind.Not)
        {
            return ParseComparison();
        }
        var not = Next();
        Enter(not);
        var operand = ParseUnary();
        _depth--;
        return new NotExpr(operand, not.Offset);
    }

    private Expr ParseComparison()
    {
        var left = ParsePrimary();
        if (ComparisonOp(Peek.Kind) is not { } op)
        {
            return left;
        }
        var opToken = Next();
        var right = ParsePrimary();
        if (ComparisonOp(Peek.Kind) is not null)
        {
            throw new ConditionSyntaxException($"syntax error: unexpected '{Peek.Text}' (comparisons can not be chained; use '&&')", Peek.Offset);
        }
        return new BinaryExpr(op, left, right, opToken.Offset);
    }

    private static BinaryOp? ComparisonOp(TokenKind kind) => kind switch
    {
        TokenKind.Eq => BinaryOp.Eq,
        TokenKind.Ne => BinaryOp.Ne,
        TokenKind.Lt => BinaryOp.Lt,
        TokenKind.Le => BinaryOp.Le,
        TokenKind.Gt => BinaryOp.Gt,
        TokenKind.Ge => BinaryOp.Ge,
        TokenKind.In => BinaryOp.In,
        TokenKind.Matches => BinaryOp.Matches,
        _ => null,
    };

    private Expr ParsePrimary()
    {
        var token = Peek;
        switch (token.Kind)
        {
            case TokenKind.String:
            case TokenKind.Number:
            case TokenKind.True:
            case TokenKind.False:
                return Literal(Next());
            case TokenKind.Name:
                if (KeywordHint(token.Text) is { } hint)
                {
                    throw new ConditionSyntaxException($"syntax error: '{token.Text}' is not an operator (use '{hint}')", token.Offset);
                }
                Next();
                return new AttributeRef(token.Text, token.Offset, token.Length);
            case TokenKind.LParen:
            {
                Next();
                Enter(token);
                var inner = ParseOr();
                _depth--;
                if (Peek.Kind != TokenKind.RParen)
                {
                    throw Unexpected(Peek, "')'");
                }
                inner.Enclose(token.Offset, Next().Offset);
                return inner;
            }
            case TokenKind.LBracket:
                return ParseList();
            default:
                throw Unexpected(token, "an attribute, a literal, '(' or '['");
        }
    }

    private ListLiteral ParseList()
    {
        var open = Next();
        var items = new List<Expr>();
        if (Peek.Kind == TokenKind.RBracket)
        {
            return new ListLiteral(items, open.Offset, Next().Offset + 1 - open.Offset);
        }
        while (true)
        {
            var item = Peek;
            if (item.Kind is not (TokenKind.String or TokenKind.Number or TokenKind.True or TokenKind.False))
            {
                throw item.Kind == TokenKind.End
                    ? Unexpected(item, "a list item")
                    : new ConditionSyntaxException("syntax error: list items must be string, number or bool literals", item.Offset);
            }
            items.Add(Literal(Next()));
            var separator = Next();
            if (separator.Kind == TokenKind.RBracket)
            {
                return new ListLiteral(items, open.Offset, separator.Offset + 1 - open.Offset);
            }
            if (separator.Kind != TokenKind.Comma)
            {
                throw Unexpected(separator, "',' or ']'");
            }
        }
    }

    private static Expr Literal(Token token) => token.Kind switch
    {
        TokenKind.String => new StringLiteral(token.Text, token.Offset, token.Length),
        TokenKind.Number => new NumberLiteral(token.Number, token.Offset, token.Length),
        _ => new BoolLiteral(token.Kind == TokenKind.True, token.Offset, token.Length),
    };

    private void Enter(Token token)
    {
        if (++_depth > MaxDepth)
        {
            throw new ConditionSyntaxException($"syntax error: the condition nests deeper than {MaxDepth} levels", token.Offset);
        }
    }

    private static string? KeywordHint(string name) => name switch
    {
        "and" or "AND" => "&&",
        "or" or "OR" => "||",
        "not" or "NOT" => "!",
        _ => null,
    };

    private ConditionSyntaxException Unexpected(Token token, string expected)
    {
        if (token.Kind == TokenKind.Name && KeywordHint(token.Text) is { } hint)
        {
            return new($"syntax error: '{token.Text}' is not an operator (use '{hint}')", token.Offset);
        }
        var what = token.Kind == TokenKind.End ? "end of condition" : $"'{_text.Substring(token.Offset, token.Length)}'";
        return new($"syntax error: unexpected {what}, expected {expected}", token.Offset);
    }
}
