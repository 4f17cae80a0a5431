"""The game board: an egglog e-graph of one expression, rules applied one at a time.

The expression language becomes egglog sorts (``Num``, ``Cond``) and one constructor per
op (``OpAdd``, ``OpSin``, ...; egglog's own primitives own the lower-case names), plus
``Const`` (f64 holding a float32 value) and ``Var``. Each rule of the table is its own
ruleset, so ``apply(i)`` runs rule i alone for one iteration and reports how many matches
it had (over its left sides: a constant operand of a sum or product matches on either
side, ``Rule.left_sides``). The program text is generated from the op table and the rule
table, parsed once per process, and run through egglog's low-level bindings (the Python
DSL is slower for this). An e-graph declares a rule when it first applies it (saturation
declares them all), and ``apply_rules`` leaves out the rules that cannot match yet: a
guided search pays egglog only for the rules it uses.

Guards become facts egglog can check: ``(>= ?a 0)``, ``(> ?a 0)`` and ``(!= ?a 0)``
hold for an e-class known to be non-negative, positive or non-zero by a small analysis
(constants, abs, sqrt, squares, exp, and sums and products of those); a rule with any
other guard cannot be expressed and is an error.

Extraction minimizes the static cost model over the DAG (a subexpression shared by
several parents is paid once), greedily, as the compiled kernel computes each distinct
node once. Note: egglog compares f64 values numerically, so ``-0`` and ``0`` are one
constant in the e-graph.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache

from egglog import bindings as egg

from src.config import conf_group
from src.cost.static import StaticCostModel
from src.expr import BOOL, CONST, NUM, OPS, VAR, Expr, postorder
from src.expr.fold import fold_constants

from .extraction import CONSTRUCTOR, LEAVES, OP_OF, extract_best
from .rules import Rule, RuleError

_SPAN = egg.PanicSpan()
_SORT = {NUM: "Num", BOOL: "Cond"}
# Guards the analysis can decide, by the relation that makes them hold.
_GUARD_RELATION = {"ge": "NonNeg", "gt": "Pos", "ne": "NonZero"}

_ANALYSIS = """
(relation NonNeg (Num))
(relation Pos (Num))
(relation NonZero (Num))
(ruleset analysis)
(rule ((= e (Const c)) (>= c 0.0)) ((NonNeg e)) :ruleset analysis)
(rule ((= e (Const c)) (> c 0.0)) ((Pos e)) :ruleset analysis)
(rule ((= e (Const c)) (!= c 0.0)) ((NonZero e)) :ruleset analysis)
(rule ((= e (OpAbs x))) ((NonNeg e)) :ruleset analysis)
(rule ((= e (OpSqrt x))) ((NonNeg e)) :ruleset analysis)
(rule ((= e (OpMul x x))) ((NonNeg e)) :ruleset analysis)
(rule ((= e (OpExp x))) ((Pos e)) :ruleset analysis)
(rule ((= e (OpExp2 x))) ((Pos e)) :ruleset analysis)
(rule ((Pos e)) ((NonNeg e) (NonZero e)) :ruleset analysis)
(rule ((= e (OpAdd a b)) (NonNeg a) (NonNeg b)) ((NonNeg e)) :ruleset analysis)
(rule ((= e (OpAdd a b)) (Pos a) (NonNeg b)) ((Pos e)) :ruleset analysis)
(rule ((= e (OpMul a b)) (NonNeg a) (NonNeg b)) ((NonNeg e)) :ruleset analysis)
(rule ((= e (OpMul a b)) (Pos a) (Pos b)) ((Pos e)) :ruleset analysis)
"""

# Constant folding in the e-graph (``selfplay.egraph.fold_constants``): an arithmetic
# e-node whose operands are constants joins the constant it equals, so a rewrite that
# makes one (``div-as-mul`` on ``x / 2.5`` gives ``x * recip 2.5``) is priced by extraction
# as the multiplication by a constant that the kernel will run. egglog computes the value
# in f64 (the kernel gets it rounded to float32); ops egglog has no f64 primitive for are
# folded in the seed only (``fold_constants``). An e-class gets one value (``ConstOf``,
# the first found). Folding every pair of constants of the operands' e-classes instead
# did not end on saturating ``(x + y) - y``: once an e-class holds two constants (rules
# true over the reals can merge values that differ in f64), each fold above it makes
# several, and those merge in turn. Per op: its value from the operands' values a, b, c,
# and the condition under which it is defined.
_FOLDED = {
    "add": ("(+ a b)", ""),
    "sub": ("(- a b)", ""),
    "mul": ("(* a b)", ""),
    "div": ("(/ a b)", " (!= b 0.0)"),
    "neg": ("(neg a)", ""),
    "recip": ("(/ 1.0 a)", " (!= a 0.0)"),
    "abs": ("(abs a)", ""),
    "min": ("(min a b)", ""),
    "max": ("(max a b)", ""),
    "fma": ("(+ (* a b) c)", ""),
}


def _fold_program() -> str:
    lines = [
        "(function ConstOf (Num) f64 :merge old)",
        "(ruleset fold)",
        "(rule ((= e (Const c))) ((set (ConstOf e) c)) :ruleset fold)",
        "(rule ((= c (ConstOf e))) ((union e (Const c))) :ruleset fold)",
    ]
    for op, (value, condition) in _FOLDED.items():
        names = "abc"[: OPS[op].arity]
        operands = " ".join(f"{n}{n}" for n in names)  # the e-classes aa, bb, cc
        values = " ".join(f"(= {n} (ConstOf {n}{n}))" for n in names)
        lines.append(
            f"(rule ((= e ({CONSTRUCTOR[op]} {operands})) {values}{condition}) "
            f"((set (ConstOf e) {value})) :ruleset fold)"
        )
    return "\n".join(lines)


def egglog_float(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    return repr(value)


def pattern_text(pattern: Expr) -> str:
    """An ``Expr`` pattern (``?a`` variables) in egglog syntax."""
    texts: dict[Expr, str] = {}
    for node in postorder(pattern):
        if node.op == VAR:
            if not node.name.startswith("?"):
                raise RuleError(f"pattern variable {node.name!r} must start with '?'")
            texts[node] = node.name
        elif node.op == CONST:
            texts[node] = f"(Const {egglog_float(node.value)})"
        else:
            texts[node] = f"({CONSTRUCTOR[node.op]} {' '.join(texts[a] for a in node.args)})"
    return texts[pattern]


def _guard_facts(rule: Rule) -> str:
    if rule.guard is None:
        return ""
    guard = rule.guard
    subject, bound = guard.args if guard.args else (None, None)
    if (
        guard.op not in _GUARD_RELATION
        or subject is None
        or subject.op != VAR
        or bound.op != CONST
        or bound.value != 0
    ):
        raise RuleError(f"rule {rule.name}: the e-graph cannot check the guard {guard.text}")
    return f" :when (({_GUARD_RELATION[guard.op]} {subject.name}))"


def language_program() -> str:
    """The egglog program declaring the language, the guard analysis and constant
    folding."""
    lines = [
        "(sort Num)",
        "(sort Cond)",
        "(constructor Const (f64) Num)",
        "(constructor Var (String) Num)",
    ]
    for op, spec in OPS.items():
        args = " ".join(_SORT[s] for s in spec.arg_sorts)
        lines.append(f"(constructor {CONSTRUCTOR[op]} ({args}) {_SORT[spec.sort]})")
    lines += [_ANALYSIS, _fold_program()]
    return "\n".join(lines)


def match_names(rule: Rule) -> tuple[str, ...]:
    """The egglog names of ``rule``'s rewrites, one per left side (``Rule.left_sides``)."""
    return (rule.name, *(f"{rule.name}~{k}" for k in range(1, len(rule.left_sides))))


def rule_program(index: int, rule: Rule) -> str:
    """The egglog program declaring ``rule`` as ruleset ``r{index}``: a rewrite for each
    of its left sides."""
    right, guard = pattern_text(rule.rhs), _guard_facts(rule)
    rewrites = (
        f'(rewrite {pattern_text(left)} {right}{guard} :ruleset r{index} :name "{name}")'
        for left, name in zip(rule.left_sides, match_names(rule), strict=True)
    )
    return "\n".join((f"(ruleset r{index})", *rewrites))


def _ops(pattern: Expr) -> frozenset[str]:
    """The ops (constants included) an e-graph needs e-nodes of for ``pattern`` to match."""
    return frozenset(node.op for node in postorder(pattern) if node.op != VAR)


@dataclass(frozen=True)
class _Language:
    """A rule table's egglog commands, parsed once per process (parsed commands are
    plain data any new e-graph can run), and each rule's left and right side's ops."""

    base: list  # language_program()
    rules: list[list]  # rule_program(k, rule k)
    combined: list  # the ruleset ``all`` of every rule, for saturation
    names: list[tuple[str, ...]]  # match_names(rule k): its rewrites' names
    lhs_ops: list[frozenset[str]]
    rhs_ops: list[frozenset[str]]


@cache
def _language(rules: tuple[Rule, ...]) -> _Language:
    parser = egg.EGraph()
    every = " ".join(f"r{k}" for k in range(len(rules)))
    return _Language(
        parser.parse_program(language_program()),
        [parser.parse_program(rule_program(k, rule)) for k, rule in enumerate(rules)],
        parser.parse_program(f"(unstable-combined-ruleset all {every})"),
        [match_names(rule) for rule in rules],
        [_ops(rule.lhs) for rule in rules],
        [_ops(rule.rhs) for rule in rules],
    )


@dataclass(frozen=True)
class SaturationReport:
    iterations: int
    stop: str  # "saturated", "iterations", "nodes" or "time"
    nodes: int
    seconds: float


class EGraphEnv:
    """One expression's e-graph and the rules that may be applied to it."""

    def __init__(
        self,
        expr: Expr,
        rules: Sequence[Rule],
        model: StaticCostModel,
        node_budget: int,
        match_limit: int = 0,
        fold: bool | None = None,
    ) -> None:
        """``match_limit``: ``apply`` skips a rule that matches in more places than this
        (egglog's back-off: the e-graph cannot jump far past its node budget in one
        step); 0 reads ``selfplay.egraph.match_limit``. ``fold``: constant folding (the
        seed is folded before it is inserted, and every rule application is followed by
        the ``fold`` ruleset); None reads ``selfplay.egraph.fold_constants``."""
        if expr.sort == BOOL:
            raise ValueError("the e-graph optimizes numeric expressions, not conditions")
        egraph_conf = conf_group("selfplay").egraph
        self.rules = tuple(rules)
        self.model = model
        self.node_budget = node_budget
        self.match_limit = match_limit or int(egraph_conf.match_limit)
        self.fold = bool(egraph_conf.fold_constants) if fold is None else fold
        if self.fold:
            expr = fold_constants(expr)
        self._language = _language(self.rules)  # a RuleError here names a rule egglog cannot take
        self._graph = egg.EGraph(seminaive=False)
        self._graph.run_program(*self._language.base)
        self._declared = [False] * len(self.rules)  # a rule is declared at its first use
        self._combined = False
        self._frozen: egg.FrozenEGraph | None = None
        self._nodes: int | None = None
        self._extracted: tuple[Expr, float] | None = None
        self._built: dict = {}  # the nodes extractions have built (extraction.rebuild)
        self._root = self._insert(expr)
        # ops that may have e-nodes (a superset: the seed's and every matched right side's);
        # a rule whose left side needs any other op cannot match (apply_rules skips it)
        self._present = set(_ops(expr))
        self._costs = {CONSTRUCTOR[op]: model.costs[op] for op in OPS} | {
            "Const": model.costs[CONST],
            "Var": model.costs[VAR],
        }

    def _insert(self, expr: Expr) -> str:
        names: dict[Expr, str] = {}
        actions = []
        for k, node in enumerate(postorder(expr)):
            if node.op == VAR:
                call = egg.Call(_SPAN, "Var", [egg.Lit(_SPAN, egg.String(node.name))])
            elif node.op == CONST:
                call = egg.Call(_SPAN, "Const", [egg.Lit(_SPAN, egg.Float(node.value))])
            else:
                args = [egg.Var(_SPAN, names[a]) for a in node.args]
                call = egg.Call(_SPAN, CONSTRUCTOR[node.op], args)
            names[node] = f"$n{k}"
            actions.append(egg.ActionCommand(egg.Let(_SPAN, names[node], call)))
        self._graph.run_program(*actions)
        return names[expr]

    @property
    def _folding(self) -> str:
        """The schedule step that folds constants after rules ran ("" when off)."""
        return " (saturate (run fold))" if self.fold else ""

    def frozen(self) -> egg.FrozenEGraph:
        """egglog's frozen copy of the e-graph as it is now (made once per change:
        extraction and ``size`` share it)."""
        if self._frozen is None:
            self._frozen = self._graph.freeze()
        return self._frozen

    def _changed(self) -> None:
        self._frozen = self._nodes = self._extracted = None

    def _language_rows(self) -> list:
        return [
            row
            for name, function in self.frozen().functions.items()
            if name in OP_OF or name in LEAVES
            for row in function.rows
        ]

    def node_count(self) -> int:
        """E-nodes of the expression language (analysis facts excluded), asked of egglog
        once per change (its size report is ~15x cheaper than reading the frozen copy)."""
        if self._nodes is None:
            (report,) = self._graph.run_program(egg.PrintSize(_SPAN, None))
            sizes = report.sizes
            self._nodes = sum(rows for name, rows in sizes if name in OP_OF or name in LEAVES)
        return self._nodes

    def size(self) -> tuple[int, int]:
        """(e-nodes, e-classes) of the expression language (analysis facts excluded)."""
        rows = self._language_rows()
        return len(rows), len({row.output for row in rows})

    def apply(self, index: int) -> int:
        """Run rule ``index`` once; its number of matches (see ``apply_rules``)."""
        return self.apply_rules([index])[0]

    def apply_rules(self, indices: Sequence[int]) -> list[int]:
        """Run each rule of ``indices`` once, in that order, in one egglog program; returns
        each one's number of matches (all 0 when the e-graph has reached its node
        budget, in which case nothing is applied).

        The guard analysis runs once, before the first rule: a guarded rule sees the
        facts known when the program started, so it may miss a match on an e-class made
        by an earlier rule of the same call (a missed rewrite, never a wrong one). The
        node budget is checked once per call, so a call may end past it by what its
        rules add (each is bounded by the back-off match limit). A rule whose left side
        needs an op no e-node has (nor an earlier rule of the call may add) cannot match:
        it is not sent to egglog, where a rule costs time even when it matches nothing."""
        if not indices:
            return []
        if self.node_count() >= self.node_budget:
            return [0] * len(indices)
        live, possible = [], set(self._present)
        for k in indices:
            if self._language.lhs_ops[k] <= possible:
                live.append(k)
                possible |= self._language.rhs_ops[k]
        matches = dict.fromkeys(indices, 0)
        if live:
            self._declare(live)
            guarded = any(self.rules[k].guard is not None for k in live)
            steps = " ".join(f"(run-with bo r{k})" for k in live)
            analysis = "(saturate (run analysis)) " if guarded else ""
            (command,) = self._graph.parse_program(
                f"(run-schedule (let-scheduler bo (back-off :match-limit {self.match_limit})) "
                f"(seq {analysis}{steps}{self._folding}))"
            )
            (output,) = self._graph.run_program(command)
            if output.report.updated:
                self._changed()
            counts = output.report.num_matches_per_rule
            for k in live:
                matches[k] = sum(int(counts.get(name, 0)) for name in self._language.names[k])
                if matches[k]:
                    self._present |= self._language.rhs_ops[k]
        return [matches[k] for k in indices]

    def _declare(self, indices: Iterable[int]) -> None:
        """Declares the rules of ``indices`` not declared yet (declaring every rule is
        most of an e-graph's set-up, and a guided search uses a part of them)."""
        new = sorted({k for k in indices if not self._declared[k]})
        if new:
            self._graph.run_program(*(c for k in new for c in self._language.rules[k]))
            for k in new:
                self._declared[k] = True

    def saturate(
        self,
        max_iterations: int,
        max_nodes: int,
        seconds: float,
        match_limit: int,
        ban_length: int,
        iterations_per_check: int,
        on_check: Callable[[], None] | None = None,
        scheduler: str = "backoff",
    ) -> SaturationReport:
        """All rules together until nothing changes or a limit is reached, under egglog's
        back-off scheduler (``scheduler="backoff"``: a rule matching more than
        ``match_limit`` places is banned for ``ban_length`` iterations, both doubling with
        each ban) or its simple one (``"simple"``: every rule at every match, each
        iteration). egglog checks no node or time limit itself, so the node limit is
        checked before the first iteration (an e-graph already at ``max_nodes`` is not
        grown, as a guided search takes no epoch at its node budget) and both limits after
        every ``iterations_per_check`` iterations (one back-off scheduler keeps its state
        for that long); ``on_check`` is called at each check that found the e-graph
        changed (the caller may extract there)."""
        if scheduler not in ("backoff", "simple"):
            raise ValueError(f"unknown scheduler {scheduler!r}; choose backoff or simple")
        start = time.perf_counter()
        step = "(run-with bo all)" if scheduler == "backoff" else "(run all)"
        let = (
            f"(let-scheduler bo (back-off :match-limit {match_limit} :ban-length {ban_length})) "
            if scheduler == "backoff"
            else ""
        )
        chunk = self._graph.parse_program(
            f"(run-schedule {let}(repeat {iterations_per_check} "
            f"(seq (saturate (run analysis)) {step}{self._folding})))"
        )[0]
        stop, done = "iterations", 0
        if self.node_count() >= max_nodes:  # as a guided search: no step past the budget
            return SaturationReport(0, "nodes", self.node_count(), time.perf_counter() - start)
        self._present.update(*self._language.rhs_ops)  # any rule may match from here on
        if not self._combined:
            self._declare(range(len(self.rules)))
            self._graph.run_program(*self._language.combined)
            self._combined = True
        while done < max_iterations:
            (output,) = self._graph.run_program(chunk)
            if output.report.updated:
                self._changed()
            done += iterations_per_check
            if not output.report.updated:
                stop = "saturated"
                break
            if on_check is not None:
                on_check()
            if self.node_count() >= max_nodes:
                stop = "nodes"
                break
            if time.perf_counter() - start >= seconds:
                stop = "time"
                break
        return SaturationReport(done, stop, self.node_count(), time.perf_counter() - start)

    def extract(self) -> tuple[Expr, float]:
        """The cheapest expression of the root's e-class under the static model, counting
        each distinct node once, and its cost (``extraction.py``: a compiled greedy DAG
        extraction over egglog's frozen e-graph; egglog 13.2's ``bindings.Extractor``
        panics on some saturated e-graphs and prices trees, not DAGs). Made once per
        change: an epoch whose rules matched nothing costs no extraction."""
        if self._extracted is None:
            _, root = self._graph.eval_expr(egg.Var(_SPAN, self._root))
            self._extracted = extract_best(
                self._graph, root, self._costs, self.frozen(), self._built
            )
        return self._extracted
