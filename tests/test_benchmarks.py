"""The search, guard and settings benchmarks still run: they are scripts no other test
imports, and twice a change elsewhere broke one without a test noticing (a config key it
read was retired; ``ckpt`` became optional in ``conf/evaluate.yaml``)."""

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
    assert "| small+medium | 1 |" in done.stdout and "| large+huge | 1 |" in done.stdout
    wrong = subprocess.run(
        [*script, "no_such_setting", "1"], cwd=PROJECT_ROOT, capture_output=True, text=True
    )
    assert wrong.returncode == 2 and "has no setting 'no_such_setting'" in wrong.stderr
    assert "Traceback" not in wrong.stderr
