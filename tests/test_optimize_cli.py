"""``python optimize.py`` as a user runs it: the answer as JSON, no files left where it
ran (no Hydra logs or output folders), and torch never imported on the inference path
(nor by a self-play or evaluation worker, which runs the same search: a spawned worker
re-imports the entry point that started it, so the entry points import it lazily)."""

import json
import subprocess
import sys

from src.config import PROJECT_ROOT


def test_optimize_writes_nothing_where_it_runs(tmp_path):
    done = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "optimize.py"), "expr=(+ (* a b) (* a c))",
         "output=json"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (record,) = json.loads(done.stdout)
    assert record["ok"] and record["speedup"] >= 1.0 and record["candidates_measured"] >= 0
    assert list(tmp_path.iterdir()) == []


def test_the_inference_path_and_self_play_workers_import_neither_torch_nor_lightning():
    probe = (
        "import sys, train, evaluate, optimize, src.unified.optimize, src.unified.search,"
        " src.data.rollout;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('torch', 'pytorch_lightning', 'lightning_fabric', 'lightning')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
