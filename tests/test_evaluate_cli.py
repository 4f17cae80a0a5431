"""``python evaluate.py file=... budgets=[...] methods=[...]`` as a user runs it: every
summary row has the fields the table needs and every record its budget; a malformed file
is one ``error:`` line naming file, line and column, exit 1, and nothing written."""

import json
import subprocess
import sys

import pytest

from src.config import PROJECT_ROOT

KERNELS = """(FPCore (x y)
 :name "shared square"
 :pre (and (<= 0 x 1) (<= 0 y 1))
 (+ (* (+ x y) (+ x y)) (* (+ x y) (+ x y))))
(FPCore (x)
 :name "pow of two"
 :pre (<= -2 x 2)
 (+ (pow x 2) (* 2 x)))
"""

ROW_FIELDS = {
    "suite", "size", "method", "budget", "expressions", "failures", "geomean_speedup",
    "median_speedup", "median_egraph_nodes", "seconds",
}  # fmt: skip


def _evaluate(cwd, *args):
    return subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "evaluate.py"), *args],
        cwd=cwd, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


@pytest.mark.parametrize("workers", [["workers=1"], ["backend=ray", "workers=2"]])
def test_a_users_file_at_two_budgets(tmp_path, workers):
    (tmp_path / "mine.fpcore").write_text(KERNELS)
    done = _evaluate(
        tmp_path, "file=mine.fpcore", "budgets=[60,200]", "methods=[saturation,random]",
        "selfplay.runner.max_steps=4", *workers,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (run,) = (tmp_path / "evaluation").iterdir()
    results = json.loads((run / "results.json").read_text())
    assert {r["suite"] for r in results["summary"]} == {"mine"}
    assert all(set(row) >= ROW_FIELDS for row in results["summary"])
    assert {(r["method"], r["budget"]) for r in results["summary"]} == {
        (m, b) for m in ("saturation", "random") for b in (60, 200)
    }
    assert len(results["results"]) == 8 and all("budget" in r for r in results["results"])
    assert all(r["ok"] and r["speedup"] >= 1.0 for r in results["results"])
    assert (run / "pareto.png").read_bytes()[:4] == b"\x89PNG"
    assert "Traceback" not in done.stderr


def test_a_malformed_file_is_one_error_line_and_writes_nothing(tmp_path):
    (tmp_path / "bad.fpcore").write_text(KERNELS + '(FPCore (y) :name "bad" (+ y\n')
    done = _evaluate(tmp_path, "file=bad.fpcore", "budgets=[250,1000]", "methods=[saturation]")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == ["error: bad.fpcore:9:25: '(' is never closed"], (
        done.stderr
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.fpcore"]


def test_bad_settings_are_one_error_line(tmp_path):
    for args, message in [
        (["budgets=[0]"], "budgets must be"),
        (["methods=[teleport]"], "unknown methods"),
        (["suites=[nope]"], "unknown suites"),
        (["file=missing.fpcore"], "missing.fpcore: cannot read"),
        (["backend=dask"], "config evaluate: backend is one of process, ray, not 'dask'"),
    ]:
        done = _evaluate(tmp_path, *args)
        assert done.returncode == 1, args
        (line,) = done.stderr.strip().splitlines()
        assert line.startswith("error: ") and message in line, (args, line)
    assert list(tmp_path.iterdir()) == []
