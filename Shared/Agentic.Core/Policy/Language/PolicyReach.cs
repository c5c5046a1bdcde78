using Agentic.Core.Agents;

namespace Agentic.Core.Policy.Language;

/// <summary>
/// Whether a policy could still permit (or send for approval) a call of one tool when everything about the call is
/// known but what a planner has not chosen yet.
/// </summary>
/// <param name="Tool">The tool.</param>
/// <param name="Reachable">Whether some arguments (and some run progress) could make the policy permit or ask for approval.</param>
/// <param name="Reason">Why, naming the rules.</param>
/// <param name="Rule">When not reachable: the forbid rule that holds whatever the arguments, or <c>default-deny</c>.</param>
public sealed record PolicyReach(string Tool, bool Reachable, string Reason, string? Rule);

public sealed partial class CompiledPolicy
{
    /// <summary>
    /// A partial evaluation of the policy: <paramref name="known"/> fixes the principal, agent, tool, target,
    /// environment and taint; the arguments (<c>args.*</c>) and what changes while a run goes on (<c>context.hour</c>,
    /// <c>context.budgetUsed</c>, <c>context.stepsTaken</c>) are unknown. Conditions are evaluated in three-valued
    /// (Kleene) logic: a comparison that names an unknown attribute is unknown, everything else is computed exactly.
    /// The tool is unreachable when a forbid holds whatever the unknowns are, or when no permit or approval rule can
    /// hold. The answer errs one way only: an unreachable tool is forbidden for every value of the unknowns (a
    /// reachable one may still be forbidden by the gate, which decides on the real call).
    /// </summary>
    public PolicyReach Reach(in PolicyRequest known)
    {
        if (known.IsDefault)
        {
            throw new ArgumentException("The request is default(PolicyRequest); build one with its constructor.", nameof(known));
        }
        var tool = known.Tool.Name;
        var allowing = new List<string>();
        for (var i = 0; i < Rules.Count; i++)
        {
            var rule = Rules[i];
            var value = _expressions[i] is { } expression ? Partial(expression, in known) : Tri.True;
            if (rule.Effect == GateEffect.Forbid)
            {
                if (value == Tri.True)
                {
                    return new PolicyReach(tool, false, $"Rule '{rule.Id}' of policy '{Id}' forbids {tool} whatever its arguments.", rule.Id);
                }
            }
            else if (value != Tri.False)
            {
                allowing.Add(rule.Id);
            }
        }
        return allowing.Count > 0
            ? new PolicyReach(tool, true, $"Rule(s) {string.Join(", ", allowing.Select(r => $"'{r}'"))} of policy '{Id}' may permit or approve {tool}.", null)
            : new PolicyReach(tool, false, $"No rule of policy '{Id}' can permit or approve {tool} (default deny).", PolicyDecision.DefaultDenyRule);
    }

    private enum Tri : byte
    {
        False,
        True,
        Unknown,
    }

    private static Tri Partial(Expr expression, in PolicyRequest known)
    {
        switch (expression)
        {
            case BinaryExpr { Op: BinaryOp.And } and:
            {
                var left = Partial(and.Left, in known);
                return left == Tri.False ? Tri.False : Partial(and.Right, in known) switch
                {
                    Tri.False => Tri.False,
                    Tri.True => left,
                    _ => Tri.Unknown,
                };
            }
            case BinaryExpr { Op: BinaryOp.Or } or:
            {
                var left = Partial(or.Left, in known);
                return left == Tri.True ? Tri.True : Partial(or.Right, in known) switch
                {
                    Tri.True => Tri.True,
                    Tri.False => left,
                    _ => Tri.Unknown,
                };
            }
            case NotExpr not:
                return Partial(not.Operand, in known) switch
                {
                    Tri.True => Tri.False,
                    Tri.False => Tri.True,
                    _ => Tri.Unknown,
                };
            default:
                // A leaf that names nothing unknown has the same value for every completion of the request.
                return NamesUnknown(expression) ? Tri.Unknown : ConditionCompiler.Compile(expression)(in known) ? Tri.True : Tri.False;
        }
    }

    private static bool NamesUnknown(Expr expression) => expression switch
    {
        AttributeRef { Info: null } => true,
        AttributeRef { Info: { Kind: AttributeKind.Json, ArgPath: not PolicySchema.TaintedKey } } => true,
        AttributeRef { Path: "context.hour" or "context.budgetUsed" or "context.stepsTaken" } => true,
        BinaryExpr binary => NamesUnknown(binary.Left) || NamesUnknown(binary.Right),
        NotExpr not => NamesUnknown(not.Operand),
        ListLiteral list => list.Items.Any(NamesUnknown),
        _ => false,
    };
}
