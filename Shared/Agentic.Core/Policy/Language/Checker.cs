using System.Globalization;

namespace Agentic.Core.Policy.Language;

/// <summary>The static type of a condition node.</summary>
internal enum ValueType
{
    String,
    Number,
    Bool,
    StringList,
    NumberList,
    BoolList,
    EmptyList,
    Json,
    Error,
}

internal enum LitKind
{
    String,
    Number,
    Bool,
}

/// <summary>A literal value of the condition language.</summary>
internal readonly record struct LitValue(LitKind Kind, string S, double N, bool B)
{
    public static LitValue Of(Expr literal) => literal switch
    {
        StringLiteral s => new(LitKind.String, s.Value, 0, false),
        NumberLiteral n => new(LitKind.Number, "", n.Value, false),
        BoolLiteral b => new(LitKind.Bool, "", 0, b.Value),
        _ => throw new ArgumentException("Not a literal.", nameof(literal)),
    };

    public static bool IsLiteral(Expr expr) => expr is StringLiteral or NumberLiteral or BoolLiteral;

    public bool SameAs(LitValue other) => Kind == other.Kind && Kind switch
    {
        LitKind.String => string.Equals(S, other.S, StringComparison.Ordinal),
        LitKind.Number => N.Equals(other.N),
        _ => B == other.B,
    };

    public string Render() => Kind switch
    {
        LitKind.String => "'" + S.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal) + "'",
        LitKind.Number => N.ToString("R", CultureInfo.InvariantCulture),
        _ => B ? "true" : "false",
    };
}

/// <summary>A problem found in a condition, located by offset in the condition text.</summary>
internal readonly record struct ConditionProblem(int Offset, string Code, string Message);

/// <summary>
/// Resolves attributes against <see cref="PolicySchema"/> and types every node. Errors are collected
/// (several per condition); comparisons of an enum attribute with a value it can not take are collected
/// separately, because whether they make the rule unreachable is for <see cref="ConditionAnalysis"/> to say.
/// </summary>
internal sealed class ConditionChecker
{
    private readonly string _text;
    private readonly AttributeSchema _schema;

    private ConditionChecker(string text, AttributeSchema schema) => (_text, _schema) = (text, schema);

    public List<ConditionProblem> Errors { get; } = [];

    public List<ConditionProblem> UnknownValues { get; } = [];

    /// <summary>Types <paramref name="root"/> against <paramref name="schema"/> (the policy request's when absent).</summary>
    public static ConditionChecker Check(Expr root, string text, AttributeSchema? schema = null)
    {
        var checker = new ConditionChecker(text, schema ?? PolicySchema.Schema);
        var type = checker.TypeOf(root);
        if (type is not (ValueType.Bool or ValueType.Json or ValueType.Error))
        {
            checker.Mismatch(root, $"a condition must be a bool, but {checker.Render(root)} is a {Name(type)}");
        }
        return checker;
    }

    public static string Name(ValueType type) => type switch
    {
        ValueType.String => "string",
        ValueType.Number => "number",
        ValueType.Bool => "bool",
        ValueType.StringList => "list<string>",
        ValueType.NumberList => "list<number>",
        ValueType.BoolList => "list<bool>",
        ValueType.EmptyList => "empty list",
        ValueType.Json => "json",
        _ => "error",
    };

    private string Render(Expr expr) => _text.Substring(expr.Offset, expr.Length);

    private void Mismatch(Expr at, string message) => Errors.Add(new(at.Offset, DiagnosticCodes.TypeMismatch, "type mismatch: " + message));

    private static bool IsList(ValueType t) => t is ValueType.StringList or ValueType.NumberList or ValueType.BoolList or ValueType.EmptyList;

    private static ValueType ElementOf(ValueType list) => list switch
    {
        ValueType.StringList => ValueType.String,
        ValueType.NumberList => ValueType.Number,
        ValueType.BoolList => ValueType.Bool,
        ValueType.EmptyList => ValueType.Json, // nothing is in an empty list, but any value may be looked for
        _ => ValueType.Json,
    };

    private static bool Compatible(ValueType a, ValueType b) => a == b || a == ValueType.Json || b == ValueType.Json;

    private ValueType TypeOf(Expr expr)
    {
        switch (expr)
        {
            case StringLiteral:
                return ValueType.String;
            case NumberLiteral:
                return ValueType.Number;
            case BoolLiteral:
                return ValueType.Bool;
            case ListLiteral list:
                return TypeOfList(list);
            case AttributeRef attribute:
                if (!_schema.TryResolve(attribute.Path, out var info))
                {
                    Errors.Add(new(attribute.Offset, DiagnosticCodes.UnknownAttribute, _schema.UnknownMessage(attribute.Path)));
                    return ValueType.Error;
                }
                attribute.Info = info;
                return info.Kind switch
                {
                    AttributeKind.Number => ValueType.Number,
                    AttributeKind.StringList => ValueType.StringList,
                    AttributeKind.Json => info.Declared,
                    _ => ValueType.String,
                };
            case NotExpr not:
                RequireBool(TypeOf(not.Operand), not.Operand, "'!'");
                return ValueType.Bool;
            case BinaryExpr { Op: BinaryOp.And or BinaryOp.Or } logical:
            {
                var symbol = $"'{BinaryExpr.Symbol(logical.Op)}'";
                RequireBool(TypeOf(logical.Left), logical.Left, symbol);
                RequireBool(TypeOf(logical.Right), logical.Right, symbol);
                return ValueType.Bool;
            }
            case BinaryExpr comparison:
                CheckComparison(comparison);
                return ValueType.Bool;
            default:
                throw new InvalidOperationException("Unknown node " + expr.GetType().Name);
        }
    }

    private ValueType TypeOfList(ListLiteral list)
    {
        if (list.Items.Count == 0)
        {
            return ValueType.EmptyList;
        }
        var first = TypeOf(list.Items[0]);
        foreach (var item in list.Items.Skip(1))
        {
            var type = TypeOf(item);
            if (type != first)
            {
                Mismatch(item, $"list items must all have the same type, but {Render(item)} is a {Name(type)} and {Render(list.Items[0])} is a {Name(first)}");
                return ValueType.Error;
            }
        }
        return first switch
        {
            ValueType.String => ValueType.StringList,
            ValueType.Number => ValueType.NumberList,
            _ => ValueType.BoolList,
        };
    }

    private void RequireBool(ValueType type, Expr operand, string op)
    {
        if (type is not (ValueType.Bool or ValueType.Json or ValueType.Error))
        {
            Mismatch(operand, $"{op} needs bool operands, but {Render(operand)} is a {Name(type)}");
        }
    }

    private void CheckComparison(BinaryExpr comparison)
    {
        var (left, right) = (comparison.Left, comparison.Right);
        var l = TypeOf(left);
        var r = TypeOf(right);
        if (l == ValueType.Error || r == ValueType.Error)
        {
            return;
        }
        var symbol = BinaryExpr.Symbol(comparison.Op);
        switch (comparison.Op)
        {
            case BinaryOp.In:
                if (!IsList(r) && r != ValueType.Json && r != ValueType.StringList)
                {
                    Mismatch(right, $"the right side of 'in' must be a list, but {Render(right)} is a {Name(r)}");
                    return;
                }
                if (IsList(l))
                {
                    Mismatch(left, $"the left side of 'in' must be a single value, but {Render(left)} is a {Name(l)}");
                    return;
                }
                if (!Compatible(l, ElementOf(r)))
                {
                    Mismatch(right, $"cannot look for {Render(left)} ({Name(l)}) in {Render(right)} ({Name(r)})");
                    return;
                }
                if (Enum(left) is { } inEnum && right is ListLiteral items)
                {
                    foreach (var item in items.Items.OfType<StringLiteral>().Where(i => inEnum.Ordinal(i.Value) < 0))
                    {
                        UnknownValues.Add(new(item.Offset, DiagnosticCodes.UnknownValue, NotAValue(item.Value, inEnum)));
                    }
                }
                return;
            case BinaryOp.Matches:
                if (right is not StringLiteral pattern)
                {
                    Mismatch(right, "the right side of 'matches' must be a string literal pattern");
                    return;
                }
                if (l is not (ValueType.String or ValueType.Json))
                {
                    Mismatch(left, $"'matches' needs a string on the left, but {Render(left)} is a {Name(l)}");
                    return;
                }
                if (Enum(left) is { } matchEnum)
                {
                    var glob = new Glob(pattern.Value);
                    if (!matchEnum.Values.Any(glob.IsMatch))
                    {
                        UnknownValues.Add(new(right.Offset, DiagnosticCodes.UnknownValue, $"no value of {matchEnum.Path} matches {Render(right)} ({matchEnum.DescribeValues()})"));
                    }
                }
                return;
        }

        if (IsList(l) || IsList(r))
        {
            var list = IsList(l) ? left : right;
            Mismatch(list, $"'{symbol}' can not compare lists (use 'in')");
            return;
        }
        if (!Compatible(l, r))
        {
            var at = LitValue.IsLiteral(left) && !LitValue.IsLiteral(right) ? left : right;
            Mismatch(at, $"cannot compare {Render(left)} ({Name(l)}) with {Render(right)} ({Name(r)})");
            return;
        }
        var leftEnum = Enum(left);
        var rightEnum = Enum(right);
        if (comparison.Op is not (BinaryOp.Eq or BinaryOp.Ne) && !Orderable(l, r, leftEnum, rightEnum, left, right))
        {
            var culprit = l is ValueType.Number or ValueType.Json ? right : left;
            if (Enum(culprit) is { Ordered: true })
            {
                culprit = culprit == left ? right : left;
            }
            Mismatch(culprit, $"'{symbol}' needs numbers or an ordered attribute, but {Render(culprit)} is a {Name(culprit == left ? l : r)}");
            return;
        }
        var (enumInfo, literal) = (leftEnum, right) is ({ } a, StringLiteral s1) ? (a, s1) : (rightEnum, left) is ({ } b, StringLiteral s2) ? (b, s2) : (null, null);
        if (enumInfo is not null && literal is not null && enumInfo.Ordinal(literal.Value) < 0)
        {
            UnknownValues.Add(new(literal.Offset, DiagnosticCodes.UnknownValue, NotAValue(literal.Value, enumInfo)));
        }
    }

    private static bool Orderable(ValueType l, ValueType r, AttributeInfo? leftEnum, AttributeInfo? rightEnum, Expr left, Expr right)
    {
        if (l is ValueType.Number or ValueType.Json && r is ValueType.Number or ValueType.Json)
        {
            return true;
        }
        if (l != ValueType.String || r != ValueType.String)
        {
            return false;
        }
        return (leftEnum, rightEnum) switch
        {
            ({ Ordered: true } a, { Ordered: true } b) => ReferenceEquals(a.Values, b.Values),
            ({ Ordered: true }, null) => right is StringLiteral,
            (null, { Ordered: true }) => left is StringLiteral,
            _ => false,
        };
    }

    private static AttributeInfo? Enum(Expr expr) => expr is AttributeRef { Info: { Kind: AttributeKind.Enum } info } ? info : null;

    public static string NotAValue(string value, AttributeInfo attribute) =>
        $"'{value}' is not a value of {attribute.Path} ({attribute.DescribeValues()})";
}
