"""The rule table: its shape, the soundness of every rule, that the check catches
unsound rules, the exact re-check, bad rule rows, and the command line."""

import json

import mpmath
import numpy as np
import pytest

from src.expr import OPS, evaluate, parse_sexpr, postorder
from src.selfplay.rules import FAMILIES, RULES, RuleError
from src.selfplay.rules import cli as rules_cli
from src.selfplay.rules.exact import evaluate_exact
from src.selfplay.rules.soundness import check_rule, default_soundness_settings
from src.selfplay.rules.table import _row

SETTINGS = default_soundness_settings()


def test_the_table_is_large_and_covers_every_family():
    assert len(RULES) >= 60
    assert {r.family for r in RULES} == set(FAMILIES)
    assert len({r.name for r in RULES}) == len(RULES)
    for rule in RULES:
        for side in (rule.lhs, rule.rhs):
            assert all(n.op in OPS or n.is_leaf for n in postorder(side)), rule.name
        assert rule.rhs.variables <= rule.lhs.variables


def test_a_constant_operand_of_a_sum_or_product_matches_on_either_side():
    sides = {rule.name: [side.text for side in rule.left_sides] for rule in RULES}
    assert sides["mul-zero"] == ["(* ?a 0)", "(* 0 ?a)"]
    assert sides["sin-double"] == ["(sin (* 2 ?a))", "(sin (* ?a 2))"]
    assert sides["pow-two"] == ["(pow ?a 2)"]  # pow does not commute
    assert sides["distribute"] == ["(* ?a (+ ?b ?c))"]  # no constant operand
    assert len(_row("p", "algebra", "(+ (* ?a 2) (+ 1 ?b))", "?a", None).left_sides) == 4


@pytest.mark.parametrize("rule", [r for r in RULES if len(r.left_sides) > 1], ids=lambda r: r.name)
def test_every_left_side_of_a_rule_computes_the_same_in_float32(rule):
    """Swapping the operands of a sum or product is exact, so each extra left side is as
    sound as the one the check below proves."""
    rng = np.random.default_rng(0)
    inputs = {name: rng.uniform(-4, 4, 256).astype(np.float32) for name in rule.variables}
    with np.errstate(all="ignore"):
        first, *others = (evaluate(side, inputs, np.float32) for side in rule.left_sides)
    for other in others:
        np.testing.assert_array_equal(np.broadcast_to(other, 256), np.broadcast_to(first, 256))


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_every_rule_is_sound(rule):
    result = check_rule(rule, SETTINGS)
    assert result.sound, (result.detail, result.counterexample)
    assert result.checked >= SETTINGS.bindings


@pytest.mark.parametrize(
    "lhs, rhs",
    [
        ("?a", "(/ ?a ?a)"),  # undefined at 0
        ("?a", "(exp (log ?a))"),  # undefined for negatives
        ("(sqrt (* ?a ?b))", "(* (sqrt ?a) (sqrt ?b))"),
        ("(log (* ?a ?b))", "(+ (log ?a) (log ?b))"),
        ("(log (pow ?a ?b))", "(* ?b (log (abs ?a)))"),  # 0^0: sound only with its guard
        ("(pow (pow ?a ?b) ?c)", "(pow ?a (* ?b ?c))"),
        ("(+ ?a ?b)", "(+ ?a ?a)"),
        ("(exp2 ?a)", "(exp (* ?a 0.6931472))"),  # a float32 ln 2 is off by 3e-8
        ("(min ?a ?b)", "(max ?a ?b)"),
    ],
)
def test_the_check_catches_unsound_rules(lhs, rhs):
    result = check_rule(_row("probe", "algebra", lhs, rhs, None), SETTINGS)
    assert not result.sound and result.counterexample is not None


def test_overflow_in_float64_is_not_unsoundness():
    rule = _row("probe", "exp-log", "(exp (- ?a ?b))", "(/ (exp ?a) (exp ?b))", None)
    assert check_rule(rule, SETTINGS).sound  # exp(1e30) overflows; over the reals it is fine


def test_a_rule_defined_too_rarely_fails():
    rule = _row("probe", "trig", "(acos (- (* ?a ?b) 1e30))", "(acos (- ?b ?b))", None)
    result = check_rule(rule, SETTINGS)
    assert not result.sound and "defined on only" in result.detail


def test_exact_evaluation_is_real_valued():
    def at(text, value):
        return evaluate_exact(parse_sexpr(text), {"?a": value}, 40)

    assert mpmath.isnan(at("(sqrt ?a)", -1.0)) and mpmath.isnan(at("(log ?a)", -2.0))
    assert at("(log ?a)", 0.0) == -mpmath.inf and mpmath.isnan(at("(/ ?a ?a)", 0.0))
    assert at("(- (+ ?a 1) ?a)", 1e30) == 1  # no float rounding at 40 digits
    assert at("(/ (exp ?a) (exp ?a))", 1e4) == 1  # no overflow
    assert mpmath.isnan(at("(pow ?a 0.5)", -4.0)) and at("(pow ?a 3)", -2.0) == -8
    assert at("(min ?a (/ 0 0))", 3.0) == 3


@pytest.mark.parametrize(
    "row, message",
    [
        (("r", "nonsense", "(+ ?a 0)", "?a", None), "unknown family"),
        (("r", "algebra", "(+ ?a 0)", "?b", None), "variables the left does not bind"),
        (("r", "algebra", "(+ x 0)", "x", None), "must start with '?'"),
        (("r", "algebra", "(+ ?a", "?a", None), "never closed"),
        (("r", "algebra", "(+ ?a 0)", "?a", "(+ ?a 1)"), "guard must be a condition"),
        (("r", "algebra", "(< ?a 0)", "?a", None), "different sorts"),
    ],
)
def test_bad_rule_rows_are_clear_errors(row, message):
    with pytest.raises(RuleError, match=message):
        _row(*row)


def test_cli_lists_and_checks(capsys):
    assert rules_cli.main(["--check", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == len(RULES)
    assert all(set(r) == {"name", "family", "lhs", "rhs", "sound"} and r["sound"] for r in rows)
    assert rules_cli.main([]) == 0
    assert "add-comm" in capsys.readouterr().out


def test_cli_fails_on_an_unsound_rule(monkeypatch, capsys):
    bad = _row("bad", "algebra", "?a", "(/ ?a ?a)", None)
    monkeypatch.setattr(rules_cli, "RULES", (*RULES[:2], bad))
    assert rules_cli.main(["--check"]) == 1
    err = capsys.readouterr().err
    assert "error: rule bad is unsound" in err and "1 of 3" not in err
