using System.Collections.Frozen;

namespace Agentic.Core.Policy.Language;

/// <summary>A compiled condition. Evaluating one allocates nothing.</summary>
internal delegate bool Condition(in PolicyRequest request);

/// <summary>Reads one attribute of a request as a <see cref="PolicyValue"/> (for attribute-to-attribute comparisons).</summary>
internal delegate PolicyValue ValueGetter(in PolicyRequest request);

/// <summary>An attribute's value at run time, whatever its type: what attribute-to-attribute comparisons compare.</summary>
internal readonly struct PolicyValue(ArgKind kind, string? text = null, double number = 0, bool flag = false, int ordinal = -1, IReadOnlyList<string>? enumValues = null, string[]? strings = null, ArgValue[]? items = null)
{
    public ArgKind Kind { get; } = kind;
    public string? String { get; } = text;
    public double Number { get; } = number;
    public bool Bool { get; } = flag;
    public int Ordinal { get; } = ordinal;
    public IReadOnlyList<string>? EnumValues { get; } = enumValues;
    public string[]? Strings { get; } = strings;
    public ArgValue[]? Items { get; } = items;

    public static PolicyValue Of(in ArgValue value) => new(value.Kind, value.String, value.Number, value.Bool, items: value.Items);

    public static bool Equal(in PolicyValue a, in PolicyValue b) => a.Kind == b.Kind && a.Kind switch
    {
        ArgKind.String => string.Equals(a.String, b.String, StringComparison.Ordinal),
        ArgKind.Number => a.Number.Equals(b.Number),
        ArgKind.Bool => a.Bool == b.Bool,
        ArgKind.Null => true,
        _ => false,
    };

    public static bool Equal(in PolicyValue a, in ArgValue b) => a.Kind == b.Kind && a.Kind switch
    {
        ArgKind.String => string.Equals(a.String, b.String, StringComparison.Ordinal),
        ArgKind.Number => a.Number.Equals(b.Number),
        ArgKind.Bool => a.Bool == b.Bool,
        ArgKind.Null => true,
        _ => false,
    };

    /// <summary>The order of two numbers, or of two values of the same ordered enum; null when they are not ordered.</summary>
    public static int? Compare(in PolicyValue a, in PolicyValue b)
    {
        if (a.Kind == ArgKind.Number && b.Kind == ArgKind.Number)
        {
            return a.Number.CompareTo(b.Number);
        }
        if (a.EnumValues is not null && ReferenceEquals(a.EnumValues, b.EnumValues) && a.Ordinal >= 0 && b.Ordinal >= 0)
        {
            return a.Ordinal.CompareTo(b.Ordinal);
        }
        return null;
    }

    /// <summary>Whether <paramref name="list"/> (a list attribute or an array argument) holds <paramref name="item"/>.</summary>
    public static bool Contains(in PolicyValue list, in PolicyValue item)
    {
        if (list.Strings is { } strings)
        {
            if (item.Kind != ArgKind.String)
            {
                return false;
            }
            foreach (var s in strings)
            {
                if (string.Equals(s, item.String, StringComparison.Ordinal))
                {
                    return true;
                }
            }
            return false;
        }
        if (list.Kind == ArgKind.Array && list.Items is { } items)
        {
            foreach (var candidate in items)
            {
                if (Equal(item, candidate))
                {
                    return true;
                }
            }
        }
        return false;
    }
}

/// <summary>
/// Turns a type-checked condition into a <see cref="Condition"/>: closures over values precomputed at load
/// (ordinals, bit masks, frozen sets, compiled globs), specialised per attribute kind so the common shapes
/// (attribute against literal) cost an array read and a compare. Its semantics are those of
/// <see cref="ConditionAnalysis"/>: <c>a != b</c> is exactly <c>!(a == b)</c>; a missing argument, or one of
/// another type, equals nothing, is in nothing, matches nothing and orders with nothing.
/// </summary>
internal static class ConditionCompiler
{
    public static readonly Condition Always = (in PolicyRequest _) => true;
    public static readonly Condition Never = (in PolicyRequest _) => false;

    /// <summary>
    /// The tool names a condition is tied to: those of a top-level conjunct <c>tool.name == 'x'</c> or
    /// <c>tool.name in [...]</c>. The condition is false for every other tool. Null when it is tied to none.
    /// </summary>
    public static IReadOnlyList<string>? ToolNames(Expr? condition)
    {
        if (condition is null)
        {
            return null;
        }
        var conjuncts = new List<Expr>();
        Flatten(condition, BinaryOp.And, conjuncts);
        foreach (var conjunct in conjuncts)
        {
            switch (conjunct)
            {
                case BinaryExpr { Op: BinaryOp.Eq, Left: AttributeRef { Path: "tool.name" }, Right: StringLiteral name }:
                    return [name.Value];
                case BinaryExpr { Op: BinaryOp.Eq, Left: StringLiteral name, Right: AttributeRef { Path: "tool.name" } }:
                    return [name.Value];
                case BinaryExpr { Op: BinaryOp.In, Left: AttributeRef { Path: "tool.name" }, Right: ListLiteral list } when list.Items.All(i => i is StringLiteral):
                    return [.. list.Items.Cast<StringLiteral>().Select(i => i.Value).Distinct(StringComparer.Ordinal)];
            }
        }
        return null;
    }

    public static Condition Compile(Expr expr)
    {
        switch (expr)
        {
            case BoolLiteral b:
                return b.Value ? Always : Never;
            case AttributeRef { Info.Kind: AttributeKind.Json } a:
            {
                var path = a.Info.ArgPath;
                return (in PolicyRequest r) => r.Args.TryGetValue(path, out var v) && v.Kind == ArgKind.Bool && v.Bool;
            }
            case NotExpr not:
                return Negate(Compile(not.Operand));
            case BinaryExpr { Op: BinaryOp.And or BinaryOp.Or } logical:
                return CompileLogical(logical);
            case BinaryExpr comparison:
                return CompileComparison(comparison);
            default:
                throw new InvalidOperationException("Not a condition: " + expr.GetType().Name);
        }
    }

    private static Condition Negate(Condition inner)
    {
        if (inner == Always)
        {
            return Never;
        }
        if (inner == Never)
        {
            return Always;
        }
        return (in PolicyRequest r) => !inner(in r);
    }

    private static Condition CompileLogical(BinaryExpr logical)
    {
        var isAnd = logical.Op == BinaryOp.And;
        var operands = new List<Expr>();
        Flatten(logical, logical.Op, operands);
        var parts = new List<Condition>();
        foreach (var operand in operands)
        {
            var part = Compile(operand);
            // Short-circuit constants away: true is neutral for &&, false for ||.
            if (part == (isAnd ? Always : Never))
            {
                continue;
            }
            if (part == (isAnd ? Never : Always))
            {
                return part;
            }
            parts.Add(part);
        }
        var all = parts.ToArray();
        return (all.Length, isAnd) switch
        {
            (0, true) => Always,
            (0, false) => Never,
            (1, _) => all[0],
            (2, true) => And(all[0], all[1]),
            (2, false) => Or(all[0], all[1]),
            (_, true) => AndAll(all),
            _ => OrAll(all),
        };
    }

    private static Condition And(Condition a, Condition b) => (in PolicyRequest r) => a(in r) && b(in r);

    private static Condition Or(Condition a, Condition b) => (in PolicyRequest r) => a(in r) || b(in r);

    private static Condition AndAll(Condition[] all) => (in PolicyRequest r) =>
    {
        foreach (var c in all)
        {
            if (!c(in r))
            {
                return false;
            }
        }
        return true;
    };

    private static Condition OrAll(Condition[] all) => (in PolicyRequest r) =>
    {
        foreach (var c in all)
        {
            if (c(in r))
            {
                return true;
            }
        }
        return false;
    };

    private static void Flatten(Expr expr, BinaryOp op, List<Expr> into)
    {
        if (expr is BinaryExpr b && b.Op == op)
        {
            Flatten(b.Left, op, into);
            Flatten(b.Right, op, into);
        }
        else
        {
            into.Add(expr);
        }
    }

    private static Condition CompileComparison(BinaryExpr c)
    {
        if (ConditionAnalysis.ConstantValue(c) is { } constant)
        {
            return constant ? Always : Never;
        }
        if (c.Op == BinaryOp.Ne)
        {
            return Negate(CompileComparison(new BinaryExpr(BinaryOp.Eq, c.Left, c.Right, c.OpOffset)));
        }
        var (left, right, op) = (c.Left, c.Right, c.Op);
        if (LitValue.IsLiteral(left) && right is AttributeRef && op is not (BinaryOp.In or BinaryOp.Matches))
        {
            (left, right) = (right, left);
            op = op switch { BinaryOp.Lt => BinaryOp.Gt, BinaryOp.Le => BinaryOp.Ge, BinaryOp.Gt => BinaryOp.Lt, BinaryOp.Ge => BinaryOp.Le, _ => op };
        }
        switch (op)
        {
            case BinaryOp.In when left is AttributeRef { Info: { } a } && right is ListLiteral list:
                return InList(a, [.. list.Items.Select(LitValue.Of)]);
            case BinaryOp.In when LitValue.IsLiteral(left) && right is AttributeRef { Info: { } listAttribute }:
                return LiteralInAttribute(LitValue.Of(left), listAttribute);
            case BinaryOp.In:
            {
                var item = Getter(left);
                var list = Getter(right);
                return (in PolicyRequest r) => PolicyValue.Contains(list(in r), item(in r));
            }
            case BinaryOp.Matches:
                return Matches(((AttributeRef)left).Info!, new Glob(((StringLiteral)right).Value));
        }
        if (left is AttributeRef { Info: { } attribute } && LitValue.IsLiteral(right))
        {
            return AgainstLiteral(attribute, op, LitValue.Of(right));
        }
        var l = Getter(left);
        var g = Getter(right);
        return op switch
        {
            BinaryOp.Eq => (in PolicyRequest r) => PolicyValue.Equal(l(in r), g(in r)),
            BinaryOp.Lt => (in PolicyRequest r) => PolicyValue.Compare(l(in r), g(in r)) is < 0,
            BinaryOp.Le => (in PolicyRequest r) => PolicyValue.Compare(l(in r), g(in r)) is <= 0,
            BinaryOp.Gt => (in PolicyRequest r) => PolicyValue.Compare(l(in r), g(in r)) is > 0,
            _ => (in PolicyRequest r) => PolicyValue.Compare(l(in r), g(in r)) is >= 0,
        };
    }

    private static Condition AgainstLiteral(AttributeInfo attribute, BinaryOp op, LitValue value)
    {
        var slot = attribute.Slot;
        switch (attribute.Kind)
        {
            case AttributeKind.String:
            {
                var text = value.S;
                return (in PolicyRequest r) => string.Equals(r.Strings[slot], text, StringComparison.Ordinal);
            }
            case AttributeKind.Enum:
            {
                var k = attribute.Ordinal(value.S);
                if (k < 0)
                {
                    return Never; // not a value of the enum: reported at load, equal to nothing, ordered with nothing
                }
                return op switch
                {
                    BinaryOp.Eq => (in PolicyRequest r) => r.Enums[slot] == k,
                    BinaryOp.Lt => (in PolicyRequest r) => (uint)r.Enums[slot] < (uint)k,
                    BinaryOp.Le => (in PolicyRequest r) => (uint)r.Enums[slot] <= (uint)k,
                    BinaryOp.Gt => (in PolicyRequest r) => r.Enums[slot] > k,
                    _ => (in PolicyRequest r) => r.Enums[slot] >= k,
                };
            }
            case AttributeKind.Number:
            {
                var n = value.N;
                return op switch
                {
                    BinaryOp.Eq => (in PolicyRequest r) => r.Numbers[slot] == n,
                    BinaryOp.Lt => (in PolicyRequest r) => r.Numbers[slot] < n,
                    BinaryOp.Le => (in PolicyRequest r) => r.Numbers[slot] <= n,
                    BinaryOp.Gt => (in PolicyRequest r) => r.Numbers[slot] > n,
                    _ => (in PolicyRequest r) => r.Numbers[slot] >= n,
                };
            }
            default:
                return ArgumentAgainstLiteral(attribute.ArgPath, op, value);
        }
    }

    private static Condition ArgumentAgainstLiteral(string path, BinaryOp op, LitValue value)
    {
        switch (value.Kind)
        {
            case LitKind.String:
            {
                var text = value.S;
                return (in PolicyRequest r) => r.Args.TryGetValue(path, out var v) && v.Kind == ArgKind.String && string.Equals(v.String, text, StringComparison.Ordinal);
            }
            case LitKind.Bool:
            {
                var flag = value.B;
                return (in PolicyRequest r) => r.Args.TryGetValue(path, out var v) && v.Kind == ArgKind.Bool && v.Bool == flag;
            }
            default:
            {
                var n = value.N;
                return op switch
                {
                    BinaryOp.Eq => (in PolicyRequest r) => r.Args.TryGetValue(path, out var v) && v.Kind == ArgKind.Number && v.Number == n,
                    BinaryOp.Lt => (in PolicyRequest r) => r.Args.TryGetValue(path, out var v) && v.Kind == ArgKind.Number && v.Number < n,
                    BinaryOp.Le => (in PolicyRequest r) => r.Args.TryGetValue(path, out var v) && v.Kind == ArgKind.Number && v.Number <= n,
                    BinaryOp.Gt => (in PolicyRequest r) => r.Args.TryGetValue(path, out var v) && v.Kind == ArgKind.Number && v.Number > n,
                    _ => (in PolicyRequest r) => r.Args.TryGetValue(path, out var v) && v.Kind == ArgKind.Number && v.Number >= n,
                };
            }
        }
    }

    private static Condition InList(AttributeInfo attribute, LitValue[] items)
    {
        var slot = attribute.Slot;
        switch (attribute.Kind)
        {
            case AttributeKind.String:
            {
                var set = StringSet(items);
                return (in PolicyRequest r) => set(r.Strings[slot]);
            }
            case AttributeKind.Enum:
            {
                var mask = 0UL;
                foreach (var item in items)
                {
                    if (attribute.Ordinal(item.S) is var k and >= 0)
                    {
                        mask |= 1UL << k;
                    }
                }
                return (in PolicyRequest r) => r.Enums[slot] is var k and >= 0 && ((mask >> k) & 1) != 0;
            }
            case AttributeKind.Number:
            {
                var numbers = items.Select(i => i.N).ToArray();
                return (in PolicyRequest r) => Array.IndexOf(numbers, r.Numbers[slot]) >= 0;
            }
            default:
            {
                var path = attribute.ArgPath;
                var strings = StringSet(items.Where(i => i.Kind == LitKind.String).ToArray());
                var numbers = items.Where(i => i.Kind == LitKind.Number).Select(i => i.N).ToArray();
                var bools = items.Where(i => i.Kind == LitKind.Bool).Select(i => i.B).ToArray();
                return (in PolicyRequest r) => r.Args.TryGetValue(path, out var v) && v.Kind switch
                {
                    ArgKind.String => strings(v.String!),
                    ArgKind.Number => Array.IndexOf(numbers, v.Number) >= 0,
                    ArgKind.Bool => Array.IndexOf(bools, v.Bool) >= 0,
                    _ => false,
                };
            }
        }
    }

    /// <summary>Membership in a fixed set of strings: a scan for a handful, a frozen hash set beyond.</summary>
    private static Func<string, bool> StringSet(LitValue[] items)
    {
        var values = items.Select(i => i.S).Distinct(StringComparer.Ordinal).ToArray();
        if (values.Length <= 8)
        {
            return s =>
            {
                foreach (var v in values)
                {
                    if (string.Equals(v, s, StringComparison.Ordinal))
                    {
                        return true;
                    }
                }
                return false;
            };
        }
        var set = values.ToFrozenSet(StringComparer.Ordinal);
        return set.Contains;
    }

    private static Condition LiteralInAttribute(LitValue item, AttributeInfo list)
    {
        if (list.Kind == AttributeKind.StringList)
        {
            var slot = list.Slot;
            var text = item.S;
            return (in PolicyRequest r) =>
            {
                foreach (var s in r.Lists[slot])
                {
                    if (string.Equals(s, text, StringComparison.Ordinal))
                    {
                        return true;
                    }
                }
                return false;
            };
        }
        var path = list.ArgPath;
        var value = new PolicyValue(item.Kind switch { LitKind.String => ArgKind.String, LitKind.Number => ArgKind.Number, _ => ArgKind.Bool }, item.S, item.N, item.B);
        return (in PolicyRequest r) =>
        {
            if (!r.Args.TryGetValue(path, out var v) || v.Kind != ArgKind.Array)
            {
                return false;
            }
            foreach (var candidate in v.Items!)
            {
                if (PolicyValue.Equal(value, candidate))
                {
                    return true;
                }
            }
            return false;
        };
    }

    private static Condition Matches(AttributeInfo attribute, Glob glob)
    {
        var slot = attribute.Slot;
        switch (attribute.Kind)
        {
            case AttributeKind.String:
                return (in PolicyRequest r) => glob.IsMatch(r.Strings[slot]);
            case AttributeKind.Enum:
            {
                var mask = 0UL;
                for (var k = 0; k < attribute.Values.Count; k++)
                {
                    if (glob.IsMatch(attribute.Values[k]))
                    {
                        mask |= 1UL << k;
                    }
                }
                return (in PolicyRequest r) => r.Enums[slot] is var k and >= 0 && ((mask >> k) & 1) != 0;
            }
            default:
            {
                var path = attribute.ArgPath;
                return (in PolicyRequest r) => r.Args.TryGetValue(path, out var v) && v.Kind == ArgKind.String && glob.IsMatch(v.String!);
            }
        }
    }

    private static ValueGetter Getter(Expr expr)
    {
        if (LitValue.IsLiteral(expr))
        {
            var lit = LitValue.Of(expr);
            var constant = new PolicyValue(lit.Kind switch { LitKind.String => ArgKind.String, LitKind.Number => ArgKind.Number, _ => ArgKind.Bool }, lit.S, lit.N, lit.B);
            return (in PolicyRequest _) => constant;
        }
        var attribute = ((AttributeRef)expr).Info!;
        var slot = attribute.Slot;
        switch (attribute.Kind)
        {
            case AttributeKind.String:
                return (in PolicyRequest r) => new PolicyValue(ArgKind.String, r.Strings[slot]);
            case AttributeKind.Enum:
            {
                var values = attribute.Values;
                return (in PolicyRequest r) => new PolicyValue(ArgKind.String, r.EnumNames[slot], ordinal: r.Enums[slot], enumValues: values);
            }
            case AttributeKind.Number:
                return (in PolicyRequest r) => new PolicyValue(ArgKind.Number, number: r.Numbers[slot]);
            case AttributeKind.StringList:
                return (in PolicyRequest r) => new PolicyValue(ArgKind.Array, strings: r.Lists[slot]);
            default:
            {
                var path = attribute.ArgPath;
                return (in PolicyRequest r) => r.Args.TryGetValue(path, out var v) ? PolicyValue.Of(v) : default;
            }
        }
    }
}
