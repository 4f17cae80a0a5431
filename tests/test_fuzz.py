"""Parsers given garbage raise ParseError and nothing else: no RecursionError, no
ValueError from deep inside, no hang on huge exponents."""

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from src.expr import ParseError, parse_fpcore, parse_fpcore_file, parse_infix, parse_sexpr
from src.expr.inputs import read_kernels

TOKENS = [
    "(",
    ")",
    "[",
    "]",
    " ",
    "\n",
    "FPCore",
    "let",
    "let*",
    "if",
    "!",
    "digits",
    "while",
    ":pre",
    ":name",
    ":precision",
    ":pixelflow-op",
    "recip",
    '"s"',
    '"',
    "x",
    "y",
    "PI",
    "INFINITY",
    "TRUE",
    "1",
    "-2.5",
    "1/0",
    "1/3",
    "0x1p99999",
    "1e999999",
    "0.5f0",
    "+",
    "-",
    "*",
    "/",
    "^",
    "**",
    "<",
    "<=",
    "==",
    "!=",
    "&&",
    "||",
    ",",
    "and",
    "not",
    "sin",
    "select",
    "pow",
    "fma",
    "sinh",
    "fmin",
    ";",
    "#|",
    "|#",
    "?a",
    "inf",
    "nan",
    "(x 3)",
]
token_soup = st.lists(st.sampled_from(TOKENS), max_size=40).map(" ".join)
garbage = st.one_of(st.text(max_size=80), token_soup)


def _only_parse_errors(parse, text):
    with contextlib.suppress(ParseError):
        parse(text)


@settings(max_examples=400, deadline=None)
@given(garbage)
def test_sexpr_parser_raises_only_parse_errors(text):
    _only_parse_errors(parse_sexpr, text)


@settings(max_examples=400, deadline=None)
@given(garbage)
def test_infix_parser_raises_only_parse_errors(text):
    _only_parse_errors(parse_infix, text)


@settings(max_examples=400, deadline=None)
@given(garbage.map(lambda body: f"(FPCore (x y) {body})"))
def test_fpcore_parser_raises_only_parse_errors(text):
    _only_parse_errors(parse_fpcore, text)
    parse_fpcore_file(text)  # collects errors, never raises


@settings(max_examples=200, deadline=None)
@given(garbage)
def test_auto_detected_input_never_raises(text):
    read_kernels(text)
    read_kernels(text, file="f.txt")


@pytest.mark.parametrize("parse", [parse_sexpr, parse_infix, parse_fpcore])
@pytest.mark.parametrize("depth", [20_000, pytest.param(200_000, marks=pytest.mark.slow)])
def test_absurd_nesting_is_a_parse_error_or_a_result(parse, depth):
    for text in (
        "(" * depth,
        "(" * depth + ")" * depth,
        "(neg " * depth + "x" + ")" * depth,
        "-(" * depth + "x" + ")" * depth,
    ):
        _only_parse_errors(parse, text)
