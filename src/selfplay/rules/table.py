"""The rule table: every rewrite the guide may apply, written once.

A rule is a name, a family, a left- and a right-hand pattern in the project's
s-expression syntax (``?a`` is a pattern variable) and an optional guard, a boolean
pattern over the same variables that must hold for the rewrite to be valid. Rules are
directed; a rewrite that is useful both ways is two rules, the second named ``...-rev``.
The e-graph rewrites, the actor's rule templates, BwdGenerator's junkifying rewrites and
the soundness check all read this table.

Semantics are fast-math: a rule is sound when both sides are equal over the reals
wherever the left side is defined (finite). ``x / x -> 1`` is sound (x / x is undefined
at 0); ``1 -> x / x`` is not, and is not in the table. Where the textbook identity holds
only for positive arguments, the rule uses absolute values so that it holds wherever the
left side is defined: ``log(a * b) -> log|a| + log|b|``.

A constant operand of a sum or product in a left side matches on either side
(``Rule.left_sides``): ``mul-zero``, written ``(* ?a 0)``, rewrites ``(* 0 x)`` too.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

from src.expr import BOOL, CONST, Expr, apply, parse_sexpr

FAMILIES = ("algebra", "inverse", "parity", "trig", "exp-log", "power", "fusion", "min-max")
COMMUTATIVE = frozenset({"add", "mul"})  # exactly commutative in float32 as over the reals


@dataclass(frozen=True)
class Rule:
    name: str
    family: str
    lhs: Expr
    rhs: Expr
    guard: Expr | None = None

    @property
    def variables(self) -> frozenset[str]:
        return self.lhs.variables

    @property
    def left_sides(self) -> tuple[Expr, ...]:
        """The patterns the e-graph matches for this rule: the left side first, then each
        form of it with the operands of a sum or product that has one constant operand
        swapped. Inlined constants (an identity matrix's 0s and 1s, say) land on either
        side, and without this a search would reach an identity written one way round
        only through add-comm or mul-comm, which grow every sum or product of the
        e-graph. Swapping is exact in float32, so each form is as sound as the rule."""
        return _constants_either_side(self.lhs)


def _constants_either_side(pattern: Expr) -> tuple[Expr, ...]:
    if not pattern.args:
        return (pattern,)
    operands = product(*(_constants_either_side(arg) for arg in pattern.args))
    forms = [apply(pattern.op, *args) for args in operands]
    if pattern.op in COMMUTATIVE and sum(arg.op == CONST for arg in pattern.args) == 1:
        forms += [apply(pattern.op, *reversed(form.args)) for form in forms]
    return tuple(dict.fromkeys(forms))


class RuleError(ValueError):
    """A rule row that cannot be a rule (bad pattern, unknown family, ...)."""


def _row(name: str, family: str, lhs: str, rhs: str, guard: str | None) -> Rule:
    if family not in FAMILIES:
        raise RuleError(f"rule {name}: unknown family {family!r}")
    try:
        left, right = parse_sexpr(lhs), parse_sexpr(rhs)
        condition = parse_sexpr(guard) if guard else None
    except ValueError as error:
        raise RuleError(f"rule {name}: {error}") from None
    for side in (left, right, condition):
        if side is not None and any(not v.startswith("?") for v in side.variables):
            raise RuleError(f"rule {name}: pattern variables must start with '?'")
    if not right.variables <= left.variables:
        raise RuleError(f"rule {name}: the right side uses variables the left does not bind")
    if condition is not None and (
        condition.sort != BOOL or not condition.variables <= left.variables
    ):
        raise RuleError(f"rule {name}: the guard must be a condition on the left's variables")
    if left.sort != right.sort:
        raise RuleError(f"rule {name}: the two sides have different sorts")
    return Rule(name, family, left, right, condition)


# name, family, lhs, rhs, whether the reverse direction is a rule too ("both"), and
# optionally a guard (which the reverse direction, if any, keeps).
_ONE, _BOTH = "one", "both"
_TABLE: tuple[tuple[str, ...], ...] = (
    # algebra
    ("add-comm", "algebra", "(+ ?a ?b)", "(+ ?b ?a)", _ONE),
    ("mul-comm", "algebra", "(* ?a ?b)", "(* ?b ?a)", _ONE),
    ("add-assoc", "algebra", "(+ (+ ?a ?b) ?c)", "(+ ?a (+ ?b ?c))", _BOTH),
    ("mul-assoc", "algebra", "(* (* ?a ?b) ?c)", "(* ?a (* ?b ?c))", _BOTH),
    ("add-zero", "algebra", "(+ ?a 0)", "?a", _ONE),
    ("sub-zero", "algebra", "(- ?a 0)", "?a", _ONE),
    ("mul-one", "algebra", "(* ?a 1)", "?a", _ONE),
    ("div-one", "algebra", "(/ ?a 1)", "?a", _ONE),
    ("mul-zero", "algebra", "(* ?a 0)", "0", _ONE),
    ("distribute", "algebra", "(* ?a (+ ?b ?c))", "(+ (* ?a ?b) (* ?a ?c))", _BOTH),
    ("distribute-sub", "algebra", "(* ?a (- ?b ?c))", "(- (* ?a ?b) (* ?a ?c))", _BOTH),
    ("div-distribute", "algebra", "(/ (+ ?a ?b) ?c)", "(+ (/ ?a ?c) (/ ?b ?c))", _BOTH),
    ("double", "algebra", "(+ ?a ?a)", "(* 2 ?a)", _BOTH),
    ("sub-as-add", "algebra", "(- ?a ?b)", "(+ ?a (neg ?b))", _BOTH),
    # inverse pairs
    ("neg-neg", "inverse", "(neg (neg ?a))", "?a", _ONE),
    ("sub-self", "inverse", "(- ?a ?a)", "0", _ONE),
    ("div-self", "inverse", "(/ ?a ?a)", "1", _ONE),
    ("recip-recip", "inverse", "(recip (recip ?a))", "?a", _ONE),
    ("div-as-mul", "inverse", "(/ ?a ?b)", "(* ?a (recip ?b))", _BOTH),
    ("recip-as-div", "inverse", "(recip ?a)", "(/ 1 ?a)", _BOTH),
    ("neg-mul", "inverse", "(* (neg ?a) ?b)", "(neg (* ?a ?b))", _BOTH),
    ("neg-as-mul", "inverse", "(neg ?a)", "(* -1 ?a)", _BOTH),
    ("sub-neg", "inverse", "(- ?a (neg ?b))", "(+ ?a ?b)", _ONE),
    ("add-sub-cancel", "inverse", "(- (+ ?a ?b) ?b)", "?a", _ONE),
    ("mul-div-cancel", "inverse", "(/ (* ?a ?b) ?b)", "?a", _ONE),
    # parity
    ("sin-odd", "parity", "(sin (neg ?a))", "(neg (sin ?a))", _BOTH),
    ("tan-odd", "parity", "(tan (neg ?a))", "(neg (tan ?a))", _BOTH),
    ("asin-odd", "parity", "(asin (neg ?a))", "(neg (asin ?a))", _BOTH),
    ("atan-odd", "parity", "(atan (neg ?a))", "(neg (atan ?a))", _BOTH),
    ("cos-even", "parity", "(cos (neg ?a))", "(cos ?a)", _ONE),
    ("abs-even", "parity", "(abs (neg ?a))", "(abs ?a)", _ONE),
    # trig
    ("pythagorean", "trig", "(+ (* (sin ?a) (sin ?a)) (* (cos ?a) (cos ?a)))", "1", _ONE),
    ("sin-squared", "trig", "(* (sin ?a) (sin ?a))", "(- 1 (* (cos ?a) (cos ?a)))", _ONE),
    ("cos-squared", "trig", "(* (cos ?a) (cos ?a))", "(- 1 (* (sin ?a) (sin ?a)))", _ONE),
    ("sin-double", "trig", "(sin (* 2 ?a))", "(* 2 (* (sin ?a) (cos ?a)))", _BOTH),
    (
        "cos-double",
        "trig",
        "(cos (* 2 ?a))",
        "(- (* (cos ?a) (cos ?a)) (* (sin ?a) (sin ?a)))",
        _BOTH,
    ),
    (
        "sin-add",
        "trig",
        "(sin (+ ?a ?b))",
        "(+ (* (sin ?a) (cos ?b)) (* (cos ?a) (sin ?b)))",
        _BOTH,
    ),
    (
        "cos-add",
        "trig",
        "(cos (+ ?a ?b))",
        "(- (* (cos ?a) (cos ?b)) (* (sin ?a) (sin ?b)))",
        _BOTH,
    ),
    ("tan-quotient", "trig", "(tan ?a)", "(/ (sin ?a) (cos ?a))", _BOTH),
    # exp and log
    ("exp-log", "exp-log", "(exp (log ?a))", "?a", _ONE),
    ("log-exp", "exp-log", "(log (exp ?a))", "?a", _ONE),
    ("exp-add", "exp-log", "(exp (+ ?a ?b))", "(* (exp ?a) (exp ?b))", _BOTH),
    ("exp-sub", "exp-log", "(exp (- ?a ?b))", "(/ (exp ?a) (exp ?b))", _BOTH),
    ("exp-neg", "exp-log", "(exp (neg ?a))", "(recip (exp ?a))", _BOTH),
    ("log-mul", "exp-log", "(log (* ?a ?b))", "(+ (log (abs ?a)) (log (abs ?b)))", _ONE),
    ("log-add", "exp-log", "(+ (log ?a) (log ?b))", "(log (* ?a ?b))", _ONE),
    ("log-div", "exp-log", "(log (/ ?a ?b))", "(- (log (abs ?a)) (log (abs ?b)))", _ONE),
    ("log-sub", "exp-log", "(- (log ?a) (log ?b))", "(log (/ ?a ?b))", _ONE),
    ("log-pow", "exp-log", "(log (pow ?a ?b))", "(* ?b (log (abs ?a)))", _ONE, "(!= ?a 0)"),
    ("exp-mul-log", "exp-log", "(exp (* ?b (log ?a)))", "(pow ?a ?b)", _ONE),
    ("log2-as-log", "exp-log", "(log2 ?a)", "(* (log ?a) 1.442695)", _BOTH),
    ("log10-as-log", "exp-log", "(log10 ?a)", "(* (log ?a) 0.4342945)", _BOTH),
    # power
    ("pow-zero", "power", "(pow ?a 0)", "1", _ONE),
    ("pow-one", "power", "(pow ?a 1)", "?a", _ONE),
    ("pow-two", "power", "(pow ?a 2)", "(* ?a ?a)", _BOTH),
    ("pow-three", "power", "(pow ?a 3)", "(* ?a (* ?a ?a))", _BOTH),
    ("pow-half", "power", "(pow ?a 0.5)", "(sqrt ?a)", _BOTH),
    ("pow-minus-one", "power", "(pow ?a -1)", "(recip ?a)", _BOTH),
    ("pow-minus-half", "power", "(pow ?a -0.5)", "(rsqrt ?a)", _BOTH),
    ("sqrt-square", "power", "(sqrt (* ?a ?a))", "(abs ?a)", _ONE),
    ("square-sqrt", "power", "(* (sqrt ?a) (sqrt ?a))", "?a", _ONE),
    ("sqrt-mul", "power", "(sqrt (* ?a ?b))", "(* (sqrt (abs ?a)) (sqrt (abs ?b)))", _ONE),
    (
        "expand-square",
        "power",
        "(* (+ ?a ?b) (+ ?a ?b))",
        "(+ (+ (* ?a ?a) (* 2 (* ?a ?b))) (* ?b ?b))",
        _ONE,
    ),
    ("difference-of-squares", "power", "(- (* ?a ?a) (* ?b ?b))", "(* (+ ?a ?b) (- ?a ?b))", _BOTH),
    ("pow-pow", "power", "(pow (pow ?a ?b) ?c)", "(pow ?a (* ?b ?c))", _ONE, "(>= ?a 0)"),
    ("pow-combine", "power", "(* (pow ?a ?b) (pow ?a ?c))", "(pow ?a (+ ?b ?c))", _ONE),
    ("pow-mul-base", "power", "(* (pow ?a ?c) (pow ?b ?c))", "(pow (* ?a ?b) ?c)", _ONE),
    ("sqrt-recip", "power", "(sqrt (recip ?a))", "(rsqrt ?a)", _BOTH),
    # fusion
    ("fma-fuse", "fusion", "(+ (* ?a ?b) ?c)", "(fma ?a ?b ?c)", _BOTH),
    ("fma-fuse-sub", "fusion", "(- (* ?a ?b) ?c)", "(fma ?a ?b (neg ?c))", _ONE),
    ("rsqrt-fuse", "fusion", "(recip (sqrt ?a))", "(rsqrt ?a)", _BOTH),
    ("rsqrt-div", "fusion", "(/ ?b (sqrt ?a))", "(* ?b (rsqrt ?a))", _ONE),
    ("hypot-fuse", "fusion", "(sqrt (+ (* ?a ?a) (* ?b ?b)))", "(hypot ?a ?b)", _BOTH),
    # min, max, abs
    ("min-comm", "min-max", "(min ?a ?b)", "(min ?b ?a)", _ONE),
    ("max-comm", "min-max", "(max ?a ?b)", "(max ?b ?a)", _ONE),
    ("min-self", "min-max", "(min ?a ?a)", "?a", _ONE),
    ("max-self", "min-max", "(max ?a ?a)", "?a", _ONE),
    ("min-assoc", "min-max", "(min (min ?a ?b) ?c)", "(min ?a (min ?b ?c))", _BOTH),
    ("max-assoc", "min-max", "(max (max ?a ?b) ?c)", "(max ?a (max ?b ?c))", _BOTH),
    ("abs-abs", "min-max", "(abs (abs ?a))", "(abs ?a)", _ONE),
    ("abs-mul", "min-max", "(abs (* ?a ?b))", "(* (abs ?a) (abs ?b))", _BOTH),
    ("abs-square", "min-max", "(abs (* ?a ?a))", "(* ?a ?a)", _ONE),
    ("max-neg", "min-max", "(neg (max (neg ?a) (neg ?b)))", "(min ?a ?b)", _ONE),
    ("abs-as-max", "min-max", "(max ?a (neg ?a))", "(abs ?a)", _ONE),
)


def _build() -> tuple[Rule, ...]:
    rules: list[Rule] = []
    for name, family, lhs, rhs, direction, *guard in _TABLE:
        rules.append(_row(name, family, lhs, rhs, guard[0] if guard else None))
        if direction == _BOTH:
            rules.append(_row(f"{name}-rev", family, rhs, lhs, guard[0] if guard else None))
    names = [r.name for r in rules]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise RuleError(f"rule names used twice: {', '.join(duplicated)}")
    return tuple(rules)


RULES: tuple[Rule, ...] = _build()
