"""The search, guard and settings benchmarks still run: they are scripts no other test
imports, and twice a change elsewhere broke one without a test noticing (a config key it
read was retired; ``ckpt`` became optional in ``conf/evaluate.yaml``)."""

import json
import subprocess
import sys

from src.config import PROJECT_ROOT


def test_bench_search_runs():
    command = [
        sys.executable, "benchmarks/bench_search.py", "--fpcore", "2", "--fpcore-max-dag-nodes",
        "12", "--scenes", "0", "--scene-max-dag-nodes", "0", "--budget", "200",
    ]  # fmt: skip
    done = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "fpcore: 2 expressions" in done.stdout
    assert "guide / saturation" in done.stdout and "random / saturation" in done.stdout


def test_bench_fold_runs_and_times_the_folded_forms():
    command = [sys.executable, "benchmarks/bench_fold.py"]
    done = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "`(* x 1.6487212)`" in done.stdout  # exp 0.5 folded in float32
    assert "`(* (- x 0.5) 0.70372975)`" in done.stdout  # 1 / 1.421 in float32
    assert done.stdout.count("x |") == 3  # a speedup on each row


def test_bench_guard_runs():
    command = [sys.executable, "benchmarks/bench_guard.py", "--max-dag-nodes", "6"]
    done = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "guide:" in done.stdout and "saturation:" in done.stdout


def test_compare_settings_runs_and_refuses_a_setting_the_runner_lacks():
    script = [sys.executable, "benchmarks/compare_settings.py"]
    command = [*script, "spread_max_nodes", "0", "5", "--budgets", "200", "--cases", "2"]
    done = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "| spread_max_nodes=0 | spread_max_nodes=5 | saturation |" in done.stdout
    each = [*script, "fold_constants", "false", "true", "--budgets", "200", "--cases", "2"]
    done = subprocess.run(
        [*each, "--saturation-each"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert (
        "| fold_constants=false | fold_constants=true | saturation fold_constants=false "
        "| saturation fold_constants=true |"
    ) in done.stdout
    assert "| small+medium | 1 |" in done.stdout and "| large+huge | 1 |" in done.stdout
    wrong = subprocess.run(
        [*script, "no_such_setting", "1"], cwd=PROJECT_ROOT, capture_output=True, text=True
    )
    assert wrong.returncode == 2 and "has no setting 'no_such_setting'" in wrong.stderr
    assert "Traceback" not in wrong.stderr


def test_evaluation_ceiling_takes_the_best_answer_of_any_method_per_case(tmp_path):
    """Two large pair cases at one budget. Over saturation's: the best answer 2 and 1
    (geomean sqrt 2), the guide's 2 and 1/2 (geomean 1); over random's and the untrained
    actor's (1 on both cases): the best 2 and 2, the guide's 2 and 1."""
    speedups = {
        "a": {"saturation": 1.0, "random": 1.0, "untrained": 1.0, "guide": 2.0},
        "b": {"saturation": 2.0, "random": 1.0, "untrained": 1.0, "guide": 1.0},
    }
    records = [
        {"suite": "pairs", "name": name, "size": "large", "budget": 1000, "method": method,
         "speedup": speedup}
        for name, methods in speedups.items() for method, speedup in methods.items()
    ] + [{"suite": "pairs", "name": "a", "size": "large", "budget": 0, "method": "input",
          "speedup": 1.0}]  # fmt: skip
    (tmp_path / "results.json").write_text(json.dumps({"results": records}))
    script = [sys.executable, "benchmarks/evaluation_ceiling.py"]
    done = subprocess.run([*script, str(tmp_path)], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    cells = "| 1,000 | 2 | 1.414 | 2.000 | 2.000 | 1.000 | 1.414 | 1.414 |"
    assert f"| large+huge {cells}" in done.stdout and f"| suite pairs {cells}" in done.stdout
    assert "| 0 |" not in done.stdout  # the unbudgeted input is no method to choose
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "results.json").write_text(json.dumps({"results": records[:1]}))
    wrong = subprocess.run([*script, str(empty)], cwd=PROJECT_ROOT, capture_output=True,
                           text=True, timeout=120)  # fmt: skip
    assert wrong.returncode == 2 and "no guide, random, untrained records" in wrong.stderr
    assert "Traceback" not in wrong.stderr


def test_saturation_ceiling_bounds_each_budget_by_the_long_run_where_the_input_fits():
    """One small FPBench kernel at two budgets: 5 e-nodes, which its input's e-graph
    already passes (no search applies a rule, so the bound is saturation's own answer:
    1.000 of it), and 2,000, where the bound is the long saturation's answer."""
    command = [
        sys.executable, "benchmarks/saturation_ceiling.py", "--suites", "fpcore", "--sizes",
        "small", "--cases", "1", "--budgets", "5", "2000", "--nodes", "3000", "--iterations",
        "4", "--seconds", "5",
    ]  # fmt: skip
    done = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "1 cases; budgets [5, 2000]" in done.stdout and "long " in done.stdout
    rows = {
        line.split(" | ")[0] + " | " + line.split(" | ")[1]: line.strip(" |").split(" | ")
        for line in done.stdout.splitlines()
        if line.startswith("| suite fpcore")
    }
    over, fits = rows["| suite fpcore | 5"], rows["| suite fpcore | 2,000"]
    assert over[3] == "0" and over[7] == "1.000"  # input over the budget: no rule applies
    assert fits[3] == "1"
    assert float(fits[6]) > 1.0  # the long saturation finds something on a kernel that fits


def test_bench_workers_runs():
    command = [
        sys.executable, "benchmarks/bench_workers.py", "data.selfplay.episode.max_steps=3",
        "--trajectories", "2", "--workers", "1", "--backends", "process",
    ]  # fmt: skip
    done = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    (row,) = [line for line in done.stdout.splitlines() if line.startswith("| process | 1 |")]
    assert all(float(cell) > 0 for cell in row.strip(" |").split(" | ")[2:])
