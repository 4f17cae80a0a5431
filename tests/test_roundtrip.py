"""Printing an expression in any of the three syntaxes and parsing it back returns the
identical Expr (hash-consing makes that an identity check)."""

from hypothesis import HealthCheck, given, settings

from src.expr import (
    Kernel,
    VarRange,
    parse_fpcore,
    parse_infix,
    parse_sexpr,
    print_fpcore,
    print_infix,
    print_sexpr,
)

from .strategies import exprs

DEFAULT = VarRange(-1.0, 1.0)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(exprs)
def test_sexpr_round_trip(e):
    assert parse_sexpr(print_sexpr(e)) is e


@SETTINGS
@given(exprs)
def test_infix_round_trip(e):
    assert parse_infix(print_infix(e)) is e


@SETTINGS
@given(exprs)
def test_fpcore_round_trip(e):
    kernel = Kernel.from_expr(e, "random kernel", DEFAULT)
    back = parse_fpcore(print_fpcore(kernel), default=DEFAULT)
    assert back.body is e
    assert back.args == kernel.args and back.name == kernel.name
