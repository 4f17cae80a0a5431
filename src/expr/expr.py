"""``Expr``: immutable, hash-consed expression DAGs over the op table.

Every distinct expression is interned: building ``(+ x 1)`` twice returns the same
object, so equality is (nearly always) identity, hashing is O(1), and a subexpression
that appears in many places is stored (and later compiled or evaluated) once. Equality
is structural all the same, for the rare second object (``Expr.__eq__``). Sizes, depth and the
variable set are computed when a node is built; everything that walks a whole DAG does so
with an explicit stack, so arbitrarily deep expressions never hit Python's recursion limit.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable, Container, Iterable, Mapping
from typing import TypeVar

import numpy as np

from .numbers import SPECIAL_VALUES, format_f32, parse_number, to_f32
from .ops import BOOL, NUM, OPS

VAR = "var"
CONST = "const"

_NO_VARS: frozenset[str] = frozenset()
_CANONICAL_NAN_BITS = 0x7FC00000


class ExprError(ValueError):
    """An expression that cannot be built: unknown op, wrong arity or wrong sort."""


def _f32_bits(value: float) -> int:
    if math.isnan(value):
        return _CANONICAL_NAN_BITS
    return int(np.float32(value).view(np.uint32))


class Expr:
    """A node of an expression DAG. Build nodes with ``var``, ``const`` and ``apply``.

    Attributes: ``op`` (an op-table name, or ``"var"`` / ``"const"``), ``args`` (child
    nodes), ``name`` (variables), ``value`` (constants: a float32 value as a Python
    float), ``sort`` (``"num"`` or ``"bool"``), ``tree_nodes`` (size written as a tree),
    ``depth`` (nodes on the longest root-to-leaf path; a leaf has depth 1) and
    ``variables`` (the names that occur in it).
    """

    __slots__ = (
        "__weakref__",
        "_dag_nodes",
        "_hash",
        "_text",
        "args",
        "depth",
        "name",
        "op",
        "sort",
        "tree_nodes",
        "value",
        "variables",
    )

    op: str
    args: tuple[Expr, ...]
    name: str | None
    value: float | None
    sort: str
    tree_nodes: int
    depth: int
    variables: frozenset[str]

    def __setattr__(self, key: str, value: object) -> None:
        raise AttributeError("Expr is immutable")

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        """Structural equality. Interning makes equal expressions one object, so this is
        nearly always the identity test, but not always: the garbage collector clears the
        intern table's weak reference to every node it finds unreachable before it runs
        finalizers, and when a finalizer resurrects an object holding a node, that node
        lives on unlisted and the next one built equal to it is a second object. A DAG
        mixing the two held the shared subexpression twice (and a kernel computed it
        twice); with this, sets and dicts of nodes, ``postorder`` and interning itself
        treat them as one."""
        if self is other:
            return True
        if not isinstance(other, Expr) or self._hash != other._hash:
            return False
        pairs, compared = [(self, other)], set()
        while pairs:
            a, b = pairs.pop()
            if a is b or (id(a), id(b)) in compared:
                continue
            compared.add((id(a), id(b)))
            if (a._hash, a.op, a.name, len(a.args)) != (b._hash, b.op, b.name, len(b.args)):
                return False
            if a.op == CONST and _f32_bits(a.value) != _f32_bits(b.value):
                return False
            pairs.extend(zip(a.args, b.args, strict=True))
        return True

    def __reduce__(self) -> tuple:
        return _rebuild, (self.op, self.name, self.value, self.args)

    def __copy__(self) -> Expr:
        return self

    def __deepcopy__(self, memo: dict) -> Expr:
        return self

    @property
    def is_leaf(self) -> bool:
        return not self.args

    @property
    def dag_nodes(self) -> int:
        """Number of distinct nodes (each shared subexpression counted once)."""
        if self._dag_nodes is None:
            object.__setattr__(self, "_dag_nodes", len(postorder(self)))
        return self._dag_nodes

    @property
    def text(self) -> str:
        """Canonical text: the s-expression, identical for equal expressions in any run."""
        if self._text is None:
            object.__setattr__(self, "_text", _sexpr_text(self))
        return self._text

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Expr({self.text!r})"


_interned: weakref.WeakValueDictionary[tuple, Expr] = weakref.WeakValueDictionary()


def _make(
    key: tuple,
    op: str,
    args: tuple[Expr, ...],
    name: str | None,
    value: float | None,
    sort: str,
    variables: frozenset[str],
) -> Expr:
    node = _interned.get(key)
    if node is not None:
        return node
    node = object.__new__(Expr)
    fields = {
        "op": op,
        "args": args,
        "name": name,
        "value": value,
        "sort": sort,
        "tree_nodes": 1 + sum(a.tree_nodes for a in args),
        "depth": 1 + max((a.depth for a in args), default=0),
        "variables": variables,
        "_hash": hash(key),
        "_dag_nodes": None,
        "_text": None,
    }
    for field, field_value in fields.items():
        object.__setattr__(node, field, field_value)
    return _interned.setdefault(key, node)


def var(name: str) -> Expr:
    """The variable called ``name``: non-empty, no spaces, brackets, quotes or ``;``, and
    not readable as a number (so that canonical texts never collide)."""
    if (
        not name
        or any(c.isspace() or c in '()[]";' for c in name)
        or name in SPECIAL_VALUES
        or parse_number(name) is not None
    ):
        raise ExprError(f"invalid variable name {name!r}")
    return _make((VAR, name), VAR, (), name, None, NUM, frozenset((name,)))


def const(value: float) -> Expr:
    """The float32 constant nearest to ``value`` (all NaNs are one constant)."""
    bits = _f32_bits(value)
    f32 = math.nan if bits == _CANONICAL_NAN_BITS else to_f32(value)
    return _make((CONST, bits), CONST, (), None, f32, NUM, _NO_VARS)


def apply(op: str, *args: Expr) -> Expr:
    """The node ``op(args...)``; checks the op exists and the arity and sorts match."""
    spec = OPS.get(op)
    if spec is None:
        raise ExprError(f"unknown op {op!r}")
    if len(args) != spec.arity:
        raise ExprError(f"{op} takes {spec.arity} argument(s), got {len(args)}")
    for position, (arg, want) in enumerate(zip(args, spec.arg_sorts, strict=True)):
        if arg.sort != want:
            wanted = "a boolean (a comparison or logic op)" if want == BOOL else "a number"
            raise ExprError(f"argument {position + 1} of {op} must be {wanted}")
    variables = _NO_VARS
    for arg in args:
        if arg.variables and not arg.variables <= variables:
            variables = variables | arg.variables
    return _make((op, args), op, args, None, None, spec.sort, variables)


def _rebuild(op: str, name: str | None, value: float | None, args: tuple[Expr, ...]) -> Expr:
    if op == VAR:
        return var(name)
    if op == CONST:
        return const(value)
    return apply(op, *args)


def postorder(root: Expr, known: Container[Expr] = ()) -> list[Expr]:
    """Every distinct node of ``root``'s DAG once, each after all of its children;
    ``known`` nodes are left out, and so are the nodes reached only through them."""
    seen: set[Expr] = set()
    order: list[Expr] = []
    stack: list[tuple[Expr, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if node in seen or node in known:
            continue
        seen.add(node)
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(node.args) if child not in seen)
    return order


def parent_counts(root: Expr) -> dict[Expr, int]:
    """For each distinct node, how many DAG edges point at it (the root has 0)."""
    counts: dict[Expr, int] = {root: 0}
    for node in postorder(root):
        for child in node.args:
            counts[child] = counts.get(child, 0) + 1
    return counts


def match(
    pattern: Expr,
    expr: Expr,
    binding: dict[str, Expr] | None = None,
) -> dict[str, Expr] | None:
    """Match ``pattern`` against ``expr``: variables whose names start with ``?`` bind to
    subexpressions (consistently), everything else must be equal. Returns the binding
    or None. Walks the pattern only, so it is cheap for small patterns."""
    binding = {} if binding is None else binding
    stack = [(pattern, expr)]
    while stack:
        p, e = stack.pop()
        if p.op == VAR and p.name.startswith("?"):
            if binding.setdefault(p.name, e) != e:
                return None
        elif p.is_leaf or e.is_leaf:
            if p != e:
                return None
        elif p.op != e.op:
            return None
        else:
            stack.extend(zip(p.args, e.args, strict=True))
    return binding


def substitute(pattern: Expr, binding: Mapping[str, Expr]) -> Expr:
    """``pattern`` with each ``?name`` variable replaced by ``binding[?name]``."""
    built: dict[Expr, Expr] = {}
    for node in postorder(pattern):
        if node.op == VAR and node.name in binding:
            built[node] = binding[node.name]
        elif node.is_leaf:
            built[node] = node
        else:
            built[node] = apply(node.op, *(built[a] for a in node.args))
    return built[pattern]


Piece = TypeVar("Piece")


def render(start: Piece, expand: Callable[[Piece], Iterable[str | Piece]]) -> str:
    """Text built depth-first without recursion: ``expand(piece)`` gives, in order, what a
    piece is written as; strings are written as they are, other pieces expanded in turn.
    The printers of all three syntaxes are one ``expand`` function each."""
    parts: list[str] = []
    stack: list[str | Piece] = [start]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            parts.append(item)
        else:
            stack.extend(reversed(list(expand(item))))
    return "".join(parts)


def _sexpr_pieces(node: Expr) -> list[str | Expr]:
    if node.op == VAR:
        return [node.name]
    if node.op == CONST:
        return [format_f32(node.value)]
    pieces: list[str | Expr] = ["(" + OPS[node.op].sexpr]
    for arg in node.args:
        pieces += [" ", arg]
    return [*pieces, ")"]


def _sexpr_text(root: Expr) -> str:
    return render(root, _sexpr_pieces)
