"""``python -m src.expr``: reports, JSON, per-kernel errors, exit codes, no tracebacks."""

import json

import pytest

from src.data.corpus import corpus_files
from src.expr.cli import main
from tests.cli_runner import run_module

KEYS = {"name", "vars", "tree_nodes", "dag_nodes", "depth", "expr"}


def run_cli(*args: str):
    return run_module("src.expr", *args)


@pytest.mark.parametrize("stem", sorted(corpus_files()))
def test_every_corpus_file_reports_as_json(stem, capsys):
    status = main([str(corpus_files()[stem]), "--json"])
    reports = json.loads(capsys.readouterr().out)
    assert status == 0 and reports
    for report in reports:
        assert set(report) == KEYS
        assert all(len(bounds) == 2 for bounds in report["vars"].values())


@pytest.mark.parametrize("fmt", ["sexpr", "infix", "fpcore"])
def test_formats_print_each_kernel(fmt, capsys):
    assert main(["(+ x (* 2 y))", "--format", fmt]) == 0
    out = capsys.readouterr().out
    expected = {"sexpr": "(+ x (* 2 y))", "infix": "x + 2 * y", "fpcore": "(FPCore (x y)"}
    assert expected[fmt] in out and "tree 5, dag 5, depth 3" in out


def test_bad_fpcore_is_reported_and_the_rest_go_on(tmp_path):
    path = tmp_path / "mixed.fpcore"
    path.write_text(
        '(FPCore (x) :name "good" (+ x 1))\n'
        '(FPCore (x) :name "loop"\n (while (< x 1) ([x 0 (+ x 1)]) x))\n'
        '(FPCore (y) :name "also good" (* y y))\n'
    )
    result = run_cli(str(path))
    assert result.returncode == 1
    assert "good" in result.stdout and "also good" in result.stdout
    assert result.stderr.strip() == (
        f"error: {path}:3:3: 'while' is not supported (loops): "
        "pixelflow kernels are loop-free scalar float32 expressions"
    )
    reports = json.loads(run_cli(str(path), "--json").stdout)
    assert [r["name"] for r in reports] == ["good", "loop", "also good"]
    assert set(reports[1]) == {"name", "error"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["(+ x"], "error: <input>:1:1: '(' is never closed"),
        (["sin(x"], "error: <input>:1:6: expected ')', got end of input"),
        (["data/missing.fpcore"], "error: no such file: data/missing.fpcore"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(args, message):
    result = run_cli(*args)
    assert result.returncode == 1
    assert result.stderr.strip() == message
    assert "Traceback" not in result.stderr


def test_usage_errors_exit_2_without_traceback():
    result = run_cli("x", "--format", "latex")
    assert result.returncode == 2 and "invalid choice" in result.stderr
    assert "Traceback" not in result.stderr


def test_expression_files_report_each_line(tmp_path, capsys):
    path = tmp_path / "exprs.txt"
    path.write_text("; comment\n(+ x 1)\nsin(y)^2\n\n(+ x\n")
    assert main([str(path), "--json"]) == 1
    reports = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in reports] == [f"{path}:2", f"{path}:3", f"{path}:5"]
    assert reports[2]["error"] == f"{path}:5:1: '(' is never closed"
