"""FPCore (FPBench's interchange format) in and out.

Reads ``(FPCore [name] (args) :prop value ... body)`` with ``let``/``let*`` (bound
expressions are inlined; hash-consing keeps them shared), ``if``, comparisons (variadic
ones chain), ``and``/``or``/``not``, the standard constants (``PI``, ``E``, ...), decimal,
rational, hex and ``f0``-suffixed numbers, ``(digits m e b)``, and ``!`` annotations.
``:name``, ``:pre`` and ``:precision`` are kept; other properties (``:alt``, ...) are
skipped. Functions outside the op table are lowered (see ``calls``). Loops, tensors and
anything else unsupported are a ParseError naming the construct and its place.

Printing gives standard FPCore. Shared subexpressions are bound once with ``let*``; ops
FPCore lacks (recip, rsqrt, fract) are written out in standard FPCore inside a
``(! :pixelflow-op NAME ...)`` annotation, which other tools ignore and this reader uses
to read the op back, so printing and parsing returns the identical expression.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Generator
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from typing import Any

from . import trampoline
from .calls import build_call, call_table
from .errors import ParseError, SourceLoc
from .expr import (
    CONST,
    VAR,
    Expr,
    ExprError,
    apply,
    const,
    match,
    parent_counts,
    postorder,
    render,
    substitute,
    var,
)
from .kernel import Kernel, VarRange, ranges_from_pre
from .numbers import format_f32, nearest_f32, parse_number
from .ops import BOOL, OPS
from .reader import Atom, Datum, SList, String, read_data
from .settings import default_range

CONSTANTS = {
    "E": math.e,
    "LOG2E": math.log2(math.e),
    "LOG10E": math.log10(math.e),
    "LN2": math.log(2),
    "LN10": math.log(10),
    "PI": math.pi,
    "PI_2": math.pi / 2,
    "PI_4": math.pi / 4,
    "M_1_PI": 1 / math.pi,
    "M_2_PI": 2 / math.pi,
    "M_2_SQRTPI": 2 / math.sqrt(math.pi),
    "SQRT2": math.sqrt(2),
    "SQRT1_2": math.sqrt(0.5),
    "INFINITY": math.inf,
    "NAN": math.nan,
}
UNSUPPORTED = {
    "while": "loops",
    "while*": "loops",
    "for": "loops",
    "for*": "loops",
    "tensor": "tensors",
    "tensor*": "tensors",
    "array": "tensors",
    "ref": "tensors",
    "dim": "tensors",
    "size": "tensors",
    "cast": "precision casts",
    "TRUE": "boolean constants",
    "FALSE": "boolean constants",
}
PIXELFLOW_OP = ":pixelflow-op"

_CALLS = call_table(lambda spec: (spec.fpcore,))


@dataclass(frozen=True)
class KernelError:
    """An FPCore that failed to parse: its name (when readable) and the error."""

    name: str
    error: ParseError


@cache
def _expansion(op: str) -> Expr:
    template = OPS[op].fpcore_expansion
    env = {f"?{i}": var(f"?{i}") for i in range(OPS[op].arity)}
    return trampoline.run(_convert(_only_datum(template), env))


def _only_datum(text: str) -> Datum:
    return next(read_data(text))


def _unsupported(name: str, loc: SourceLoc) -> ParseError:
    return ParseError(
        f"'{name}' is not supported ({UNSUPPORTED[name]}): pixelflow kernels "
        "are loop-free scalar float32 expressions",
        loc,
    )


def _atom(atom: Atom, env: dict[str, Expr]) -> Expr:
    text = atom.text
    if text in env:
        return env[text]
    value = parse_number(text)
    if value is None and text in CONSTANTS:
        value = CONSTANTS[text]
    if value is not None:
        return const(value)
    if text in UNSUPPORTED:
        raise _unsupported(text, atom.loc)
    raise ParseError(f"unbound variable '{text}'", atom.loc)


def _convert(datum: Datum, env: dict[str, Expr]) -> Generator[Any, Expr, Expr]:
    if isinstance(datum, Atom):
        return _atom(datum, env)
    if isinstance(datum, String):
        raise ParseError("a string is not an expression", datum.loc)
    items = datum.items
    if not items:
        raise ParseError("empty list is not an expression", datum.loc)
    head = items[0]
    if not isinstance(head, Atom):
        raise ParseError("expected an operator name at the head of the list", head.loc)
    name = head.text
    if name in ("let", "let*"):
        return (yield _let(datum, env, sequential=name == "let*"))
    if name == "!":
        return (yield _annotation(datum, env))
    if name == "digits":
        return _digits(datum)
    if name in UNSUPPORTED:
        raise _unsupported(name, head.loc)
    if (
        name == "-"
        and len(items) == 2
        and isinstance(items[1], Atom)
        and items[1].text == "INFINITY"
        and "INFINITY" not in env
    ):
        return const(-math.inf)  # FPCore's only spelling of the constant -inf
    args = []
    for item in items[1:]:
        args.append((yield _convert(item, env)))
    return build_call(_CALLS, name, args, head.loc)


def _binding_name(datum: Datum) -> str:
    if not isinstance(datum, Atom) or parse_number(datum.text) is not None:
        raise ParseError("expected a variable name", datum.loc)
    return datum.text


def _let(datum: SList, env: dict[str, Expr], sequential: bool) -> Generator[Any, Expr, Expr]:
    form = datum.items[0].text
    if len(datum.items) != 3 or not isinstance(datum.items[1], SList):
        raise ParseError(f"expected ({form} ([name expr] ...) body)", datum.loc)
    inner = dict(env)
    for binding in datum.items[1].items:
        if not isinstance(binding, SList) or len(binding.items) != 2:
            raise ParseError(f"expected [name expr] in {form}", binding.loc)
        name = _binding_name(binding.items[0])
        inner[name] = yield _convert(binding.items[1], inner if sequential else env)
    return (yield _convert(datum.items[2], inner))


def _properties(items: tuple[Datum, ...], start: int) -> tuple[dict[str, Datum], int]:
    """Read ``:key value`` pairs from ``items[start:]`` up to the last item."""
    props: dict[str, Datum] = {}
    i = start
    while i < len(items) - 1 and isinstance(items[i], Atom) and items[i].text.startswith(":"):
        props[items[i].text] = items[i + 1]
        i += 2
    return props, i


def _annotation(datum: SList, env: dict[str, Expr]) -> Generator[Any, Expr, Expr]:
    props, body_at = _properties(datum.items, 1)
    if body_at != len(datum.items) - 1:
        raise ParseError("expected (! :property value ... expr)", datum.loc)
    body = yield _convert(datum.items[body_at], env)
    op_datum = props.get(PIXELFLOW_OP)
    if op_datum is None:
        return body
    op = op_datum.text if isinstance(op_datum, Atom) else None
    if op not in OPS or OPS[op].fpcore_expansion is None:
        raise ParseError(f"{PIXELFLOW_OP} names no op written by expansion", op_datum.loc)
    binding = match(_expansion(op), body)
    if binding is None:
        raise ParseError(f"{PIXELFLOW_OP} {op} must wrap {OPS[op].fpcore_expansion}", datum.loc)
    return apply(op, *(binding[f"?{i}"] for i in range(OPS[op].arity)))


def _digits(datum: SList) -> Expr:
    fields = datum.items[1:]
    texts = [f.text for f in fields if isinstance(f, Atom)]
    if (
        len(fields) != 3
        or len(texts) != 3
        or not all(t.lstrip("+-").isdigit() for t in texts)
        or int(texts[2]) < 2
    ):
        raise ParseError("expected (digits mantissa exponent base): integers, base >= 2", datum.loc)
    mantissa, exponent, base = (int(t) for t in texts)
    if mantissa == 0:
        return const(0.0)
    magnitude = exponent * math.log2(base) + math.log2(abs(mantissa))
    if magnitude > 130 or magnitude < -160:  # certainly past float32's range
        return const(math.copysign(math.inf if magnitude > 0 else 0.0, mantissa))
    exact = Fraction(mantissa) * Fraction(base) ** exponent
    return const(nearest_f32(float(exact), lambda: exact))


def _arg_name(datum: Datum) -> str:
    if isinstance(datum, SList) and datum.items and isinstance(datum.items[0], Atom):
        if datum.items[0].text == "!":
            return _arg_name(datum.items[-1])
        raise ParseError(
            "tensor arguments are not supported: pixelflow kernels take scalars", datum.loc
        )
    return _binding_name(datum)


def _expr_of(datum: Datum, env: dict[str, Expr]) -> Expr:
    return trampoline.run(_convert(datum, env))


def _kernel(datum: Datum, default: VarRange) -> Kernel:
    items = datum.items if isinstance(datum, SList) else ()
    if not items or not isinstance(items[0], Atom) or items[0].text != "FPCore":
        raise ParseError("expected (FPCore (args) ... body)", datum.loc)
    at = 2 if len(items) > 1 and isinstance(items[1], Atom) else 1
    if at >= len(items) or not isinstance(items[at], SList):
        raise ParseError("expected the argument list of the FPCore", datum.loc)
    args = tuple(_arg_name(a) for a in items[at].items)
    duplicates = sorted({a for a in args if args.count(a) > 1})
    if duplicates:
        raise ParseError(f"argument '{duplicates[0]}' is declared twice", items[at].loc)
    props, body_at = _properties(items, at + 1)
    if body_at != len(items) - 1:
        raise ParseError("expected exactly one body after the FPCore's properties", datum.loc)
    try:
        env = {a: var(a) for a in args}
    except ExprError as error:
        raise ParseError(str(error), items[at].loc) from None
    body = _expr_of(items[body_at], env)
    pre = None
    if ":pre" in props:
        pre = _expr_of(props[":pre"], env)
        if pre.sort != BOOL:
            raise ParseError(":pre must be a condition", props[":pre"].loc)
    precision = props.get(":precision")
    return Kernel(
        name=_kernel_name(datum),
        args=args,
        body=body,
        ranges=ranges_from_pre(pre, args, default, props[":pre"].loc if pre else None),
        pre=pre,
        precision=precision.text if isinstance(precision, Atom) else None,
        loc=datum.loc,
    )


def _kernel_name(datum: Datum) -> str:
    """The ``:name`` of an FPCore, else its identifier, else where it is."""
    items = datum.items if isinstance(datum, SList) else ()
    for key, value in itertools.pairwise(items):
        if isinstance(key, Atom) and key.text == ":name" and isinstance(value, String):
            return value.text
    if len(items) > 1 and isinstance(items[1], Atom):
        return items[1].text
    return str(datum.loc)


def _default(default: VarRange | None) -> VarRange:
    return default_range() if default is None else default


def parse_fpcore(
    text: str,
    file: str | None = None,
    default: VarRange | None = None,
) -> Kernel:
    """Parse text holding exactly one FPCore. Raises ParseError on bad input."""
    data = list(read_data(text, file))
    if len(data) != 1:
        where = data[1].loc if len(data) > 1 else SourceLoc(1, 1, file)
        raise ParseError(f"expected one FPCore, found {len(data)}", where)
    return _kernel(data[0], _default(default))


def parse_fpcore_file(
    text: str,
    file: str | None = None,
    default: VarRange | None = None,
) -> list[Kernel | KernelError]:
    """Parse every FPCore in ``text``; each one that fails becomes a KernelError and the
    rest go on. A bracket or string error ends the file there (its rest is unreadable)."""
    default = _default(default)
    results: list[Kernel | KernelError] = []
    try:
        for datum in read_data(text, file):
            try:
                results.append(_kernel(datum, default))
            except ParseError as error:
                results.append(KernelError(_kernel_name(datum), error))
    except ParseError as error:
        results.append(KernelError(str(error.loc), error))
    return results


def _number(value: float) -> str:
    if math.isnan(value):
        return "NAN"
    if math.isinf(value):
        return "INFINITY" if value > 0 else "(- INFINITY)"
    return format_f32(value)


def _fpcore_pieces(names: dict[Expr, str]) -> Callable[[tuple[Expr, bool]], list]:
    """How a node is written in FPCore; nodes in ``names`` (unless at the top of what is
    being written) are written by name."""

    def pieces(item: tuple[Expr, bool]) -> list[str | tuple[Expr, bool]]:
        node, top = item
        if not top and node in names:
            return [names[node]]
        if node.op == VAR:
            return [node.name]
        if node.op == CONST:
            return [_number(node.value)]
        if node.op == "neg" and node.args[0].op == CONST and node.args[0].value == math.inf:
            return ["(- (! INFINITY))"]  # negated +inf, not the constant -inf
        if OPS[node.op].fpcore_expansion:
            binding = {f"?{i}": arg for i, arg in enumerate(node.args)}
            expanded = substitute(_expansion(node.op), binding)
            return [f"(! {PIXELFLOW_OP} {node.op} ", (expanded, True), ")"]
        out: list[str | tuple[Expr, bool]] = ["(" + OPS[node.op].fpcore]
        for arg in node.args:
            out += [" ", (arg, False)]
        return [*out, ")"]

    return pieces


def fpcore_expr(expr: Expr, taken: set[str] | frozenset[str] = frozenset()) -> str:
    """``expr`` as an FPCore expression; subexpressions used more than once are bound
    by a ``let*`` to fresh names that avoid ``taken`` (and the expression's variables)."""
    counts = parent_counts(expr)
    shared = [n for n in postorder(expr) if not n.is_leaf and counts[n] > 1]
    avoid = set(taken) | expr.variables | set(CONSTANTS)
    names: dict[Expr, str] = {}
    candidate = 0
    for node in shared:
        while f"t{candidate}" in avoid:
            candidate += 1
        names[node] = f"t{candidate}"
        candidate += 1
    pieces = _fpcore_pieces(names)
    body = render((expr, True), pieces)
    if not shared:
        return body
    bindings = "\n       ".join(f"[{names[n]} {render((n, True), pieces)}]" for n in shared)
    return f"(let* ({bindings})\n  {body})"


def _string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def print_fpcore(kernel: Kernel) -> str:
    """``kernel`` as a standard FPCore with ``:precision binary32`` (what it computes)."""
    lines = [
        f"(FPCore ({' '.join(kernel.args)})",
        f" :name {_string(kernel.name)}",
        " :precision binary32",
    ]
    if kernel.pre is not None:
        lines.append(" :pre " + fpcore_expr(kernel.pre))
    lines.append(" " + fpcore_expr(kernel.body, set(kernel.args)) + ")")
    return "\n".join(lines)
