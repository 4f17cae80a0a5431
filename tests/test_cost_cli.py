"""``python -m src.cost``: reports, JSON keys, bad input, exit codes, no tracebacks."""

import json

import pytest

from src.cost.cli import main
from src.data.corpus import corpus_files
from tests.cli_runner import run_module

KEYS = {"name", "compile_ms", "ns_per_element", "spread_pct", "static_cost", "max_rel_error"}


def run_cli(*args: str):
    return run_module("src.cost", *args)


def test_json_report_has_exactly_the_keys(capsys):
    assert main([str(corpus_files()["hamming-series"]), "--json"]) == 0
    reports = json.loads(capsys.readouterr().out)
    assert len(reports) > 5
    for report in reports:
        assert set(report) == KEYS
        assert report["compile_ms"] > 0 and report["ns_per_element"] > 0
        assert report["static_cost"] > 0 and 0 <= report["max_rel_error"] <= 1e-2


def test_text_report_names_every_figure(capsys):
    assert main(["(+ (sin x) (* x y))"]) == 0
    out = capsys.readouterr().out
    for word in ("compile", "ns/element", "spread", "static cost", "max relative error"):
        assert word in out


def test_non_finite_outputs_are_shown(capsys):
    assert main(["(log x)"]) == 0  # x in [-1, 1]: NaN for the negative half
    assert "non-finite outputs:" in capsys.readouterr().out


def test_a_file_with_a_bad_line_reports_the_rest(tmp_path, capsys):
    source = tmp_path / "exprs.txt"
    source.write_text("(+ x 1)\n(* x (\nsqrt(x) + 1\n")
    assert main([str(source), "--json"]) == 1
    captured = capsys.readouterr()
    reports = json.loads(captured.out)
    assert [set(r) for r in reports] == [KEYS, {"name", "error"}, KEYS]
    assert f"{source}:2:" in captured.err


@pytest.mark.parametrize(
    "arg, message",
    [
        ("(+ x", "error: <input>:1:1: '(' is never closed"),
        ("kernels/missing.fpcore", "error: no such file: kernels/missing.fpcore"),
        ("(sin x y)", "error: <input>:1:2: 'sin' takes 1 argument(s), got 2"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(arg, message):
    result = run_cli(arg)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [message]
    assert "Traceback" not in result.stderr


def test_an_unreadable_file_is_a_clear_error(tmp_path):
    binary = tmp_path / "k.fpcore"
    binary.write_bytes(b"\xff\xfe(FPCore")
    result = run_cli(str(binary))
    assert result.returncode == 1 and result.stderr.startswith(f"error: cannot read {binary}")
    assert "Traceback" not in result.stderr
