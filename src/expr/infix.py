"""Infix syntax: ``sin(x)^2 + cos(x)*cos(x)``.

Binding, loosest first: ``||``; ``&&``; ``!``; comparisons (``< <= > >= == !=``, which do
not chain); ``+ -``; ``* /``; unary ``-``; ``^`` (right-associative, so ``-x^2`` is
``-(x^2)`` and ``2^-1`` is allowed). Other ops are calls by their op-table name
(``sqrt(x)``, ``min(a, b)``, ``select(c, a, b)``); FPCore names (``fabs``, ``pow``) and
lowered functions (``sinh``) are accepted too. ``PI``, ``pi`` and ``E`` are constants, as
are ``inf`` and ``nan``. A minus written straight before a number is part of the number
(``-2`` is the constant -2, ``-(2)`` negates the constant 2) unless a ``^`` follows.
"""

from __future__ import annotations

import math
import re
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from . import trampoline
from .calls import build_call, call_table
from .errors import ParseError, SourceLoc
from .expr import CONST, VAR, Expr, ExprError, const, render, var
from .numbers import SPECIAL_VALUES, format_f32, parse_number
from .ops import OPS, PREC_ATOM, PREC_CMP, PREC_NEG, PREC_POW

_TOKEN = re.compile(
    r"(?P<space>\s+)"
    r"|(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_.]*)"
    r"|(?P<op>\*\*|<=|>=|==|!=|&&|\|\||[-+*/^<>!(),])"
    r"|(?P<bad>.)"
)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
NAMED_CONSTANTS = {"PI": math.pi, "pi": math.pi, "E": math.e, **SPECIAL_VALUES}

_CALLS = call_table(lambda spec: (spec.name, spec.fpcore))
_BINARY = {spec.infix.symbol: spec for spec in OPS.values() if spec.infix.form == "binary"}


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    loc: SourceLoc


def _tokenize(text: str, file: str | None) -> list[_Token]:
    tokens = []
    line, line_start = 1, 0
    for m in _TOKEN.finditer(text):
        loc = SourceLoc(line, m.start() - line_start + 1, file)
        kind, token = m.lastgroup, m.group()
        if kind == "bad":
            raise ParseError(f"unexpected character {token!r}", loc)
        if kind == "space":
            newlines = token.count("\n")
            if newlines:
                line += newlines
                line_start = m.start() + token.rindex("\n") + 1
            continue
        if kind == "name" and token in ("inf", "nan"):
            kind = "number"
        tokens.append(_Token(kind, "^" if token == "**" else token, loc))
    end = SourceLoc(line, len(text) - line_start + 1, file)
    tokens.append(_Token("end", "", end))
    return tokens


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.pos + ahead, len(self.tokens) - 1)]

    def take(self) -> _Token:
        token = self.peek()
        self.pos += 1
        return token

    def expect(self, text: str) -> _Token:
        token = self.take()
        if token.text != text or token.kind == "end":
            raise ParseError(f"expected '{text}', got {_describe(token)}", token.loc)
        return token

    def build(self, op: str, args: list[Expr], token: _Token) -> Expr:
        return build_call(_CALLS, op, args, token.loc)

    def binary_level(self, symbols: tuple[str, ...], operand: Any) -> Generator[Any, Expr, Expr]:
        left = yield operand()
        while self.peek().kind == "op" and self.peek().text in symbols:
            token = self.take()
            right = yield operand()
            left = self.build(_BINARY[token.text].name, [left, right], token)
        return left

    def or_(self) -> Generator[Any, Expr, Expr]:
        return (yield self.binary_level(("||",), self.and_))

    def and_(self) -> Generator[Any, Expr, Expr]:
        return (yield self.binary_level(("&&",), self.not_))

    def not_(self) -> Generator[Any, Expr, Expr]:
        if self.peek().text == "!" and self.peek().kind == "op":
            token = self.take()
            operand = yield self.not_()
            return self.build("not", [operand], token)
        return (yield self.comparison())

    def comparison(self) -> Generator[Any, Expr, Expr]:
        left = yield self.additive()
        token = self.peek()
        spec = _BINARY.get(token.text)
        if token.kind != "op" or spec is None or spec.infix.prec != PREC_CMP:
            return left
        self.take()
        right = yield self.additive()
        after = self.peek()
        if (
            after.kind == "op"
            and after.text in _BINARY
            and _BINARY[after.text].infix.prec == PREC_CMP
        ):
            raise ParseError("comparisons do not chain: write a < b && b < c", after.loc)
        return self.build(spec.name, [left, right], token)

    def additive(self) -> Generator[Any, Expr, Expr]:
        return (yield self.binary_level(("+", "-"), self.multiplicative))

    def multiplicative(self) -> Generator[Any, Expr, Expr]:
        return (yield self.binary_level(("*", "/"), self.unary))

    def unary(self) -> Generator[Any, Expr, Expr]:
        token = self.peek()
        if token.kind == "op" and token.text == "-":
            self.take()
            number = self.peek()
            if number.kind == "number" and self.peek(1).text != "^":
                self.take()
                return const(-_number_value(number))
            operand = yield self.unary()
            return self.build("neg", [operand], token)
        return (yield self.power())

    def power(self) -> Generator[Any, Expr, Expr]:
        base = yield self.atom()
        if self.peek().kind == "op" and self.peek().text == "^":
            token = self.take()
            exponent = yield self.unary()
            return self.build("pow", [base, exponent], token)
        return base

    def atom(self) -> Generator[Any, Expr, Expr]:
        token = self.take()
        if token.kind == "number":
            return const(_number_value(token))
        if token.kind == "name":
            if self.peek().text == "(" and self.peek().kind == "op":
                self.take()
                args = []
                if self.peek().text != ")":
                    args.append((yield self.or_()))
                    while self.peek().text == "," and self.peek().kind == "op":
                        self.take()
                        args.append((yield self.or_()))
                self.expect(")")
                return self.build(token.text, args, token)
            if token.text in NAMED_CONSTANTS:
                return const(NAMED_CONSTANTS[token.text])
            try:
                return var(token.text)
            except ExprError as error:
                raise ParseError(str(error), token.loc) from None
        if token.kind == "op" and token.text == "(":
            inner = yield self.or_()
            self.expect(")")
            return inner
        raise ParseError(f"expected an expression, got {_describe(token)}", token.loc)

    def whole(self) -> Generator[Any, Expr, Expr]:
        expr = yield self.or_()
        token = self.peek()
        if token.kind != "end":
            raise ParseError(f"unexpected {_describe(token)}", token.loc)
        return expr


def _describe(token: _Token) -> str:
    return "end of input" if token.kind == "end" else f"'{token.text}'"


def _number_value(token: _Token) -> float:
    if token.text in NAMED_CONSTANTS:
        return NAMED_CONSTANTS[token.text]
    value = parse_number(token.text)
    if value is None:
        raise ParseError(f"bad number '{token.text}'", token.loc)
    return value


def parse_infix(text: str, file: str | None = None) -> Expr:
    """Parse an infix expression. Raises ParseError (with line and column) on bad input."""
    return trampoline.run(_Parser(_tokenize(text, file)).whole())


def _binding(node: Expr) -> int:
    """How tightly ``node`` binds when printed, in the PREC_* scale."""
    if node.op == CONST:
        negative = math.copysign(1.0, node.value) < 0 and not math.isnan(node.value)
        return PREC_NEG if negative else PREC_ATOM
    if node.op == VAR:
        return PREC_ATOM
    infix = OPS[node.op].infix
    return PREC_ATOM if infix.form == "call" else infix.prec


def _operand_floors(node: Expr) -> list[int]:
    """The binding each operand of ``node`` needs to be printed without parentheses."""
    infix = OPS[node.op].infix
    if infix.form == "call":
        return [0] * len(node.args)
    if infix.form == "prefix":
        operand = node.args[0]
        if node.op == "neg" and (operand.op == CONST or operand.op == "neg"):
            return [PREC_ATOM + 1]  # -(2) is not the literal -2; -(-x) reads better
        return [PREC_CMP + 1 if node.op == "not" else PREC_NEG]  # !(a < b), not !a < b
    if infix.assoc == "left":
        return [infix.prec, infix.prec + 1]
    if infix.assoc == "right":
        return [infix.prec + 1, PREC_NEG]
    return [infix.prec + 1, infix.prec + 1]


def _leaf_text(node: Expr) -> str:
    if node.op == CONST:
        return format_f32(node.value)
    name = node.name
    if not _IDENTIFIER.fullmatch(name) or name in NAMED_CONSTANTS:
        raise ValueError(f"variable name {name!r} cannot be written in infix")
    return name


def _infix_pieces(item: tuple[Expr, int]) -> list[str | tuple[Expr, int]]:
    node, floor = item
    if node.is_leaf:
        pieces: list[str | tuple[Expr, int]] = [_leaf_text(node)]
    else:
        infix = OPS[node.op].infix
        operands = list(zip(node.args, _operand_floors(node), strict=True))
        if infix.form == "call":
            pieces = [infix.symbol + "("]
            for i, operand in enumerate(operands):
                pieces += [", "] * (i > 0) + [operand]
            pieces.append(")")
        elif infix.form == "prefix":
            pieces = [infix.symbol, operands[0]]
        else:
            sep = infix.symbol if infix.prec >= PREC_POW else f" {infix.symbol} "
            pieces = [operands[0], sep, operands[1]]
    return ["(", *pieces, ")"] if _binding(node) < floor else pieces


def print_infix(expr: Expr) -> str:
    """``expr`` in infix, with parentheses only where binding requires them."""
    return render((expr, 0), _infix_pieces)
