using System.Globalization;

namespace Agentic.Core.Policy.Language;

internal enum AtomOp
{
    /// <summary>attribute == literal</summary>
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
    /// <summary>attribute in [literals]</summary>
    In,
    /// <summary>attribute matches 'glob'</summary>
    Matches,
    /// <summary>a bare argument used as a bool</summary>
    Truthy,
    /// <summary>a constant (a literal condition or a comparison of literals)</summary>
    Const,
    /// <summary>anything else (attribute against attribute, literal in a list attribute): compared by text only</summary>
    Opaque,
}

/// <summary>An atomic condition in canonical form. Atoms with the same <see cref="Key"/> mean the same thing.</summary>
internal sealed class Atom
{
    public required string Key { get; init; }
    public required AtomOp Op { get; init; }
    public AttributeInfo? Attribute { get; init; }
    public LitValue Value { get; init; }
    public IReadOnlyList<LitValue> List { get; init; } = [];
    public Glob? Pattern { get; init; }
    public bool Constant { get; init; }

    /// <summary>Where the literal compared against sits, for diagnostics about that value.</summary>
    public int ValueOffset { get; init; }

    public bool Analyzable => Attribute is not null && Op is not (AtomOp.Const or AtomOp.Opaque);
}

/// <summary>An atom or its negation, with the text the author wrote for it.</summary>
internal readonly record struct Literal(Atom Atom, bool Negated, string Text, int Offset);

/// <summary>Why a conjunction can never hold.</summary>
internal sealed record Contradiction(string Message, int Offset);

/// <summary>
/// The static analysis of conditions: each condition in disjunctive normal form (an OR of ANDs of literals),
/// contradictions within each AND (a rule that can never match), and implication between conditions (a rule
/// shadowed by an earlier forbid). Sound but incomplete: it never reports a rule that can match, and gives up
/// (reports nothing) on conditions whose normal form grows past <see cref="MaxTerms"/>.
/// </summary>
internal sealed class ConditionAnalysis
{
    public const int MaxTerms = 64;

    /// <summary>The terms that can hold (contradictory ones removed), or null when not analysed.</summary>
    public List<List<Literal>>? Satisfiable { get; private set; }

    /// <summary>Why no term can hold, when none can.</summary>
    public Contradiction? Unreachable { get; private set; }

    /// <summary>Whether the condition holds for every request (no condition, or one that reduces to true).</summary>
    public bool AlwaysTrue => Satisfiable is { } terms && terms.Exists(t => t.TrueForAll(l => IsConstTrue(l)));

    public static ConditionAnalysis Analyze(Expr? root, string text)
    {
        if (root is null)
        {
            return new ConditionAnalysis { Satisfiable = [[]] };
        }
        List<List<Literal>>? terms;
        try
        {
            terms = new Normalizer(text).Dnf(root, negated: false);
        }
        catch (TooLargeException)
        {
            terms = null;
        }
        var analysis = new ConditionAnalysis();
        if (terms is null)
        {
            return analysis;
        }
        var satisfiable = new List<List<Literal>>();
        var reasons = new List<Contradiction>();
        foreach (var term in terms)
        {
            if (FindContradiction(term, text) is { } reason)
            {
                if (!reasons.Exists(r => r.Message == reason.Message))
                {
                    reasons.Add(reason);
                }
            }
            else
            {
                satisfiable.Add(term);
            }
        }
        analysis.Satisfiable = satisfiable;
        if (satisfiable.Count == 0)
        {
            analysis.Unreachable = reasons.Count == 0 || !NamesAnAttribute(root)
                ? new Contradiction("its condition is always false", root.Offset)
                : new Contradiction(string.Join("; ", reasons.Select(r => r.Message)), reasons[0].Offset);
        }
        return analysis;
    }

    /// <summary>
    /// Whether this condition holds whenever <paramref name="later"/> holds: every satisfiable term of
    /// <paramref name="later"/> implies some satisfiable term of this one.
    /// </summary>
    public bool Covers(ConditionAnalysis later)
    {
        if (Satisfiable is not { Count: > 0 } mine || later.Satisfiable is not { Count: > 0 } theirs)
        {
            return false;
        }
        return theirs.TrueForAll(term => mine.Exists(candidate => candidate.TrueForAll(literal => Implied(literal, term))));
    }

    private static bool NamesAnAttribute(Expr expr) => expr switch
    {
        AttributeRef => true,
        NotExpr not => NamesAnAttribute(not.Operand),
        BinaryExpr b => NamesAnAttribute(b.Left) || NamesAnAttribute(b.Right),
        _ => false,
    };

    private static bool IsConstTrue(Literal literal) => literal.Atom.Op == AtomOp.Const && literal.Atom.Constant != literal.Negated;

    // ---- contradictions ----

    private static Contradiction? FindContradiction(List<Literal> term, string text)
    {
        foreach (var literal in term)
        {
            if (literal.Atom.Op == AtomOp.Const && literal.Atom.Constant == literal.Negated)
            {
                var whole = literal.Offset == 0 && literal.Text.Length == text.Trim().Length;
                var message = whole ? "its condition is always false" : literal.Text == "false" ? "it requires the literal false" : $"{literal.Text} is always false";
                return new(message, literal.Offset);
            }
        }
        for (var i = 0; i < term.Count; i++)
        {
            for (var j = i + 1; j < term.Count; j++)
            {
                if (term[i].Atom.Key == term[j].Atom.Key && term[i].Negated != term[j].Negated)
                {
                    return Explain([term[i], term[j]]);
                }
            }
        }
        foreach (var group in term.Where(l => l.Atom.Analyzable).GroupBy(l => l.Atom.Attribute!.Path, StringComparer.Ordinal))
        {
            var literals = group.ToList();
            var attribute = literals[0].Atom.Attribute!;
            if (!Unsatisfiable(literals, attribute))
            {
                continue;
            }
            // The smallest explanation: one literal, else a pair, else the whole group.
            foreach (var single in literals)
            {
                if (Unsatisfiable([single], attribute))
                {
                    return Explain([single]);
                }
            }
            for (var i = 0; i < literals.Count; i++)
            {
                for (var j = i + 1; j < literals.Count; j++)
                {
                    if (Unsatisfiable([literals[i], literals[j]], attribute))
                    {
                        return Explain([literals[i], literals[j]]);
                    }
                }
            }
            return Explain(literals);
        }
        return null;
    }

    private static Contradiction Explain(List<Literal> literals)
    {
        var last = literals[^1];
        if (literals.Count == 1)
        {
            var atom = last.Atom;
            var attribute = atom.Attribute!;
            if (!last.Negated && attribute.Kind == AttributeKind.Enum)
            {
                var unknown = atom.List.Where(v => attribute.Ordinal(v.S) < 0).Select(v => v.Render()).ToList();
                switch (atom.Op)
                {
                    case AtomOp.Eq when attribute.Ordinal(atom.Value.S) < 0:
                        return new(ConditionChecker.NotAValue(atom.Value.S, attribute), atom.ValueOffset);
                    case AtomOp.Matches:
                        return new($"no value of {attribute.Path} matches {atom.Value.Render()} ({attribute.DescribeValues()})", atom.ValueOffset);
                    case AtomOp.In when atom.List.Count == 1 && unknown.Count == 1:
                        return new(ConditionChecker.NotAValue(atom.List[0].S, attribute), atom.ValueOffset);
                    case AtomOp.In when atom.List.Count > 0 && unknown.Count == atom.List.Count:
                        return new($"none of {string.Join(", ", unknown)} is a value of {attribute.Path} ({attribute.DescribeValues()})", atom.ValueOffset);
                }
            }
            if (attribute.Kind == AttributeKind.Number && !double.IsInfinity(attribute.Min) && !double.IsInfinity(attribute.Max))
            {
                return new($"{last.Text} can never hold ({attribute.Path} ranges from {Format(attribute.Min)} to {Format(attribute.Max)})", last.Offset);
            }
            return new($"{last.Text} can never hold", last.Offset);
        }
        if (literals.Count == 2)
        {
            return new($"{literals[0].Text} and {last.Text} can not both hold", last.Offset);
        }
        return new($"{string.Join(", ", literals.Take(literals.Count - 1).Select(l => l.Text))} and {last.Text} can not all hold", last.Offset);
    }

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>A possible value of an attribute: a literal, or (for open enums) any value outside the known ones.</summary>
    private readonly record struct Candidate(LitValue Value, bool Other);

    private static bool Unsatisfiable(List<Literal> literals, AttributeInfo attribute)
    {
        if (Candidates(literals, attribute) is { } candidates)
        {
            return candidates.Count == 0;
        }
        var (lo, loIn, hi, hiIn) = Interval(literals, attribute);
        if (lo > hi || (lo == hi && !(loIn && hiIn)))
        {
            return true;
        }
        if (attribute.Kind == AttributeKind.Json)
        {
            var kinds = literals.Where(l => !l.Negated).Select(l => l.Atom.Op switch
            {
                AtomOp.Lt or AtomOp.Le or AtomOp.Gt or AtomOp.Ge => (LitKind?)LitKind.Number,
                AtomOp.Matches => LitKind.String,
                AtomOp.Truthy => LitKind.Bool,
                _ => null,
            }).OfType<LitKind>().Distinct().Count();
            return kinds > 1;
        }
        return false;
    }

    /// <summary>
    /// The values the attribute can take under <paramref name="literals"/>, when that is a finite set: an enum's
    /// values, or those of a positive <c>==</c> or <c>in</c>. Null when the set is unbounded.
    /// </summary>
    private static List<Candidate>? Candidates(List<Literal> literals, AttributeInfo attribute)
    {
        List<Candidate> initial;
        if (attribute.Kind == AttributeKind.Enum)
        {
            initial = [.. attribute.Values.Select(v => new Candidate(new LitValue(LitKind.String, v, 0, false), false))];
            if (attribute.Open)
            {
                initial.Add(new Candidate(default, true));
            }
        }
        else if (literals.Find(l => !l.Negated && l.Atom.Op is AtomOp.Eq or AtomOp.In) is { Atom: not null } bounding)
        {
            initial = bounding.Atom.Op == AtomOp.Eq
                ? [new Candidate(bounding.Atom.Value, false)]
                : [.. bounding.Atom.List.Select(v => new Candidate(v, false))];
        }
        else
        {
            return null;
        }
        return initial.FindAll(c => InRange(attribute, c) && literals.TrueForAll(l => Holds(l, c, attribute)));
    }

    private static bool InRange(AttributeInfo attribute, Candidate candidate)
    {
        if (attribute.Kind != AttributeKind.Number || candidate.Other || candidate.Value.Kind != LitKind.Number)
        {
            return true;
        }
        var n = candidate.Value.N;
        return n >= attribute.Min && n <= attribute.Max && (!attribute.Integer || Math.Floor(n) == n);
    }

    private static bool Holds(Literal literal, Candidate candidate, AttributeInfo attribute)
    {
        var atom = literal.Atom;
        var holds = !candidate.Other && atom.Op switch
        {
            AtomOp.Eq => candidate.Value.SameAs(atom.Value),
            AtomOp.In => atom.List.Any(candidate.Value.SameAs),
            AtomOp.Lt => Order(attribute, candidate.Value, atom.Value) is < 0,
            AtomOp.Le => Order(attribute, candidate.Value, atom.Value) is <= 0,
            AtomOp.Gt => Order(attribute, candidate.Value, atom.Value) is > 0,
            AtomOp.Ge => Order(attribute, candidate.Value, atom.Value) is >= 0,
            AtomOp.Matches => candidate.Value.Kind == LitKind.String && atom.Pattern!.IsMatch(candidate.Value.S),
            AtomOp.Truthy => candidate.Value.Kind == LitKind.Bool && candidate.Value.B,
            _ => true,
        };
        return holds != literal.Negated;
    }

    private static int? Order(AttributeInfo attribute, LitValue a, LitValue b)
    {
        if (a.Kind == LitKind.Number && b.Kind == LitKind.Number)
        {
            return a.N.CompareTo(b.N);
        }
        if (attribute.Kind == AttributeKind.Enum && a.Kind == LitKind.String && b.Kind == LitKind.String)
        {
            var (x, y) = (attribute.Ordinal(a.S), attribute.Ordinal(b.S));
            return x < 0 || y < 0 ? null : x.CompareTo(y);
        }
        return null;
    }

    /// <summary>The numeric interval the literals allow (the attribute's range included).</summary>
    private static (double Lo, bool LoIn, double Hi, bool HiIn) Interval(List<Literal> literals, AttributeInfo attribute)
    {
        double lo = attribute.Min, hi = attribute.Max;
        bool loIn = true, hiIn = true;
        foreach (var literal in literals)
        {
            if (literal.Atom.Value.Kind != LitKind.Number || literal.Atom.Op is not (AtomOp.Lt or AtomOp.Le or AtomOp.Gt or AtomOp.Ge))
            {
                continue;
            }
            // !(x < v) is x >= v only where x is always a number; a missing or non-number argument satisfies neither.
            if (literal.Negated && attribute.Kind != AttributeKind.Number)
            {
                continue;
            }
            var op = literal.Negated ? Negate(literal.Atom.Op) : literal.Atom.Op;
            var v = literal.Atom.Value.N;
            switch (op)
            {
                case AtomOp.Lt when v < hi || (v == hi && hiIn):
                    (hi, hiIn) = (v, false);
                    break;
                case AtomOp.Le when v < hi:
                    (hi, hiIn) = (v, true);
                    break;
                case AtomOp.Gt when v > lo || (v == lo && loIn):
                    (lo, loIn) = (v, false);
                    break;
                case AtomOp.Ge when v > lo:
                    (lo, loIn) = (v, true);
                    break;
            }
        }
        return (lo, loIn, hi, hiIn);
    }

    private static AtomOp Negate(AtomOp op) => op switch
    {
        AtomOp.Lt => AtomOp.Ge,
        AtomOp.Le => AtomOp.Gt,
        AtomOp.Gt => AtomOp.Le,
        _ => AtomOp.Lt,
    };

    // ---- implication ----

    /// <summary>Whether <paramref name="literal"/> holds whenever every literal of <paramref name="term"/> does.</summary>
    private static bool Implied(Literal literal, List<Literal> term)
    {
        var atom = literal.Atom;
        if (atom.Op == AtomOp.Const)
        {
            return atom.Constant != literal.Negated;
        }
        if (term.Exists(l => l.Atom.Key == atom.Key && l.Negated == literal.Negated))
        {
            return true;
        }
        if (!atom.Analyzable)
        {
            return false;
        }
        var attribute = atom.Attribute!;
        var group = term.FindAll(l => l.Atom.Analyzable && l.Atom.Attribute!.Path == attribute.Path);
        if (Candidates(group, attribute) is { } candidates)
        {
            return candidates.TrueForAll(c => Holds(literal, c, attribute));
        }
        if (atom.Op is not (AtomOp.Lt or AtomOp.Le or AtomOp.Gt or AtomOp.Ge) || atom.Value.Kind != LitKind.Number)
        {
            return false;
        }
        if (literal.Negated && attribute.Kind != AttributeKind.Number)
        {
            return false;
        }
        // An argument is known to be a number only where the term orders it positively.
        if (attribute.Kind == AttributeKind.Json && !group.Exists(l => !l.Negated && l.Atom.Op is AtomOp.Lt or AtomOp.Le or AtomOp.Gt or AtomOp.Ge && l.Atom.Value.Kind == LitKind.Number))
        {
            return false;
        }
        var (lo, loIn, hi, hiIn) = Interval(group, attribute);
        var op = literal.Negated ? Negate(atom.Op) : atom.Op;
        var v = atom.Value.N;
        return op switch
        {
            AtomOp.Lt => hi < v || (hi == v && !hiIn),
            AtomOp.Le => hi <= v,
            AtomOp.Gt => lo > v || (lo == v && !loIn),
            _ => lo >= v,
        };
    }

    // ---- normal form ----

    private sealed class TooLargeException : Exception;

    private sealed class Normalizer(string text)
    {
        public List<List<Literal>> Dnf(Expr expr, bool negated)
        {
            switch (expr)
            {
                case NotExpr { Operand: not (NotExpr or BinaryExpr { Op: BinaryOp.And or BinaryOp.Or }) } not:
                {
                    // The negation of one comparison: shown (and located) as written, '!' included.
                    var (atom, flipped) = MakeAtom(not.Operand);
                    var isNegated = !negated != flipped;
                    var source = text.Substring(not.Offset, not.Length);
                    var shown = !negated ? source : "!(" + source + ")";
                    return [[new Literal(atom, isNegated, shown, not.Offset)]];
                }
                case NotExpr not:
                    return Dnf(not.Operand, !negated);
                case BinaryExpr { Op: BinaryOp.And or BinaryOp.Or } logical:
                {
                    var left = Dnf(logical.Left, negated);
                    var right = Dnf(logical.Right, negated);
                    // De Morgan: a negated AND is an OR of negations, and the other way round.
                    var conjunction = (logical.Op == BinaryOp.And) != negated;
                    return conjunction ? Product(left, right) : Concat(left, right);
                }
                default:
                {
                    var (atom, flipped) = MakeAtom(expr);
                    var isNegated = negated != flipped;
                    var source = text.Substring(expr.Offset, expr.Length);
                    var shown = isNegated == flipped ? source : "!(" + source + ")";
                    return [[new Literal(atom, isNegated, shown, expr.Offset)]];
                }
            }
        }

        private static List<List<Literal>> Concat(List<List<Literal>> a, List<List<Literal>> b)
        {
            if (a.Count + b.Count > MaxTerms)
            {
                throw new TooLargeException();
            }
            return [.. a, .. b];
        }

        private static List<List<Literal>> Product(List<List<Literal>> a, List<List<Literal>> b)
        {
            if (a.Count * b.Count > MaxTerms)
            {
                throw new TooLargeException();
            }
            var result = new List<List<Literal>>(a.Count * b.Count);
            foreach (var x in a)
            {
                foreach (var y in b)
                {
                    if (x.Count + y.Count > MaxTerms)
                    {
                        throw new TooLargeException();
                    }
                    result.Add([.. x, .. y]);
                }
            }
            return result;
        }

        /// <summary>The canonical atom of a comparison; flipped when the comparison is a <c>!=</c> (kept as a negated <c>==</c>).</summary>
        private (Atom Atom, bool Flipped) MakeAtom(Expr expr)
        {
            switch (expr)
            {
                case BoolLiteral b:
                    return (new Atom { Key = b.Value ? "true" : "false", Op = AtomOp.Const, Constant = b.Value }, false);
                case AttributeRef a:
                    return (new Atom { Key = a.Path, Op = AtomOp.Truthy, Attribute = a.Info }, false);
                case BinaryExpr comparison:
                    return MakeComparison(comparison);
                default:
                    throw new InvalidOperationException("Not a condition: " + expr.GetType().Name);
            }
        }

        private (Atom Atom, bool Flipped) MakeComparison(BinaryExpr c)
        {
            var flipped = c.Op == BinaryOp.Ne;
            var op = c.Op == BinaryOp.Ne ? BinaryOp.Eq : c.Op;
            var (left, right) = (c.Left, c.Right);
            if (ConstantValue(c) is { } constant)
            {
                return (new Atom { Key = constant ? "true" : "false", Op = AtomOp.Const, Constant = constant }, false);
            }
            // Literal on the left of a comparison: mirror it so the attribute comes first.
            if (LitValue.IsLiteral(left) && right is AttributeRef && op is not (BinaryOp.In or BinaryOp.Matches))
            {
                (left, right) = (right, left);
                op = op switch { BinaryOp.Lt => BinaryOp.Gt, BinaryOp.Le => BinaryOp.Ge, BinaryOp.Gt => BinaryOp.Lt, BinaryOp.Ge => BinaryOp.Le, _ => op };
            }
            if (left is AttributeRef { Info: { } attribute } && attribute.Kind != AttributeKind.StringList)
            {
                var path = attribute.Path;
                switch (op)
                {
                    case BinaryOp.In when right is ListLiteral list:
                    {
                        var values = list.Items.Select(LitValue.Of).DistinctBy(v => v.Render()).OrderBy(v => v.Render(), StringComparer.Ordinal).ToList();
                        return (new Atom { Key = $"{path} in [{string.Join(", ", values.Select(v => v.Render()))}]", Op = AtomOp.In, Attribute = attribute, List = values, ValueOffset = right.Offset }, flipped);
                    }
                    case BinaryOp.Matches when right is StringLiteral pattern:
                        return (new Atom { Key = $"{path} matches {LitValue.Of(pattern).Render()}", Op = AtomOp.Matches, Attribute = attribute, Pattern = new Glob(pattern.Value), Value = LitValue.Of(pattern), ValueOffset = right.Offset }, flipped);
                    case BinaryOp.Eq or BinaryOp.Lt or BinaryOp.Le or BinaryOp.Gt or BinaryOp.Ge when LitValue.IsLiteral(right):
                    {
                        var value = LitValue.Of(right);
                        var atomOp = op switch { BinaryOp.Eq => AtomOp.Eq, BinaryOp.Lt => AtomOp.Lt, BinaryOp.Le => AtomOp.Le, BinaryOp.Gt => AtomOp.Gt, _ => AtomOp.Ge };
                        return (new Atom { Key = $"{path} {BinaryExpr.Symbol(op)} {value.Render()}", Op = atomOp, Attribute = attribute, Value = value, ValueOffset = right.Offset }, flipped);
                    }
                }
            }
            // Attribute against attribute, or a value in a list attribute: identical text is the only equivalence known.
            var l = Canonical(left);
            var r = Canonical(right);
            if (op == BinaryOp.Eq && string.CompareOrdinal(l, r) > 0)
            {
                (l, r) = (r, l);
            }
            return (new Atom { Key = $"{l} {BinaryExpr.Symbol(op)} {r}", Op = AtomOp.Opaque }, flipped);
        }

        private string Canonical(Expr expr) => expr switch
        {
            AttributeRef a => a.Path,
            ListLiteral list => "[" + string.Join(", ", list.Items.Select(i => LitValue.Of(i).Render())) + "]",
            _ when LitValue.IsLiteral(expr) => LitValue.Of(expr).Render(),
            _ => text.Substring(expr.Offset, expr.Length),
        };
    }

    /// <summary>The value of a comparison between literals (folded at load), or null when an attribute is involved.</summary>
    public static bool? ConstantValue(BinaryExpr c)
    {
        if (!LitValue.IsLiteral(c.Left))
        {
            return null;
        }
        var left = LitValue.Of(c.Left);
        switch (c.Op)
        {
            case BinaryOp.In when c.Right is ListLiteral list:
                return list.Items.Any(i => LitValue.Of(i).SameAs(left));
            case BinaryOp.Matches when c.Right is StringLiteral pattern:
                return left.Kind == LitKind.String && new Glob(pattern.Value).IsMatch(left.S);
        }
        if (!LitValue.IsLiteral(c.Right))
        {
            return null;
        }
        var right = LitValue.Of(c.Right);
        return c.Op switch
        {
            BinaryOp.Eq => left.SameAs(right),
            BinaryOp.Ne => !left.SameAs(right),
            BinaryOp.Lt => left.Kind == LitKind.Number && right.Kind == LitKind.Number && left.N < right.N,
            BinaryOp.Le => left.Kind == LitKind.Number && right.Kind == LitKind.Number && left.N <= right.N,
            BinaryOp.Gt => left.Kind == LitKind.Number && right.Kind == LitKind.Number && left.N > right.N,
            BinaryOp.Ge => left.Kind == LitKind.Number && right.Kind == LitKind.Number && left.N >= right.N,
            _ => null,
        };
    }
}
