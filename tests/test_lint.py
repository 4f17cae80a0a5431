"""The code base is ruff-clean (configured in pyproject.toml)."""

import subprocess
import sys
from pathlib import Path

from src.config import PROJECT_ROOT


def test_ruff_is_clean():
    ruff = Path(sys.executable).with_name("ruff")
    result = subprocess.run(
        [str(ruff), "check", "."], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
