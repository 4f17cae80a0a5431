"""Running a command-line module the way a user does, in a subprocess."""

import subprocess
import sys

from src.config import PROJECT_ROOT


def run_module(module: str, *args: str) -> subprocess.CompletedProcess:
    """``python -m MODULE ARGS...`` from the project root, output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
