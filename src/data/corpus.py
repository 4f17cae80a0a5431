"""The FPCore corpus (FPBench/Herbie kernels in ``data/fpbench``), loadable by name.

A corpus file is named by its stem (``graphics-pbrt``); a kernel by its FPCore ``:name``
(``"HairBSDF, Mp, upper"``). The directory comes from ``conf/corpus``.
"""

from __future__ import annotations

import difflib
import zlib
from functools import cache
from pathlib import Path

from src.config import PROJECT_ROOT, conf_group
from src.expr.fpcore import KernelError
from src.expr.inputs import read_kernel_file
from src.expr.kernel import Kernel


def corpus_dir() -> Path:
    return PROJECT_ROOT / conf_group("corpus").dir


def corpus_files() -> dict[str, Path]:
    """Each ``.fpcore`` file of the corpus, by stem, in sorted order."""
    return {p.stem: p for p in sorted(corpus_dir().glob("*.fpcore"))}


def _did_you_mean(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=3)
    return f" (did you mean: {', '.join(close)}?)" if close else ""


def load_file(stem: str) -> list[Kernel | KernelError]:
    """Every FPCore of the corpus file ``stem``, parsed (failures as KernelError)."""
    files = corpus_files()
    if stem not in files:
        raise KeyError(f"no corpus file '{stem}'{_did_you_mean(stem, list(files))}")
    return read_kernel_file(files[stem], "fpcore")


def load_corpus() -> tuple[list[Kernel], list[KernelError]]:
    """All kernels of the corpus that parse, and the errors of those that do not."""
    kernels: list[Kernel] = []
    errors: list[KernelError] = []
    for stem in corpus_files():
        for item in load_file(stem):
            (kernels if isinstance(item, Kernel) else errors).append(item)
    return kernels, errors


def trainable(kernel: Kernel, holdout: float, max_dag_nodes: int) -> bool:
    """Whether self-play may start from ``kernel``: a numeric kernel of at most
    ``max_dag_nodes`` DAG nodes outside the held-out share ``holdout`` (chosen by a
    hash of its name, so the split is the same on every machine). Evaluation's corpus
    suite is every other kernel: none of them is ever trained on."""
    held_out = zlib.crc32(kernel.name.encode()) % 1000 < round(holdout * 1000)
    return not held_out and kernel.body.dag_nodes <= max_dag_nodes and kernel.body.sort == "num"


@cache
def trainable_kernels(holdout: float, max_dag_nodes: int) -> tuple[Kernel, ...]:
    """Every corpus kernel self-play may start from (``trainable``)."""
    return tuple(k for k in load_corpus()[0] if trainable(k, holdout, max_dag_nodes))


def load_kernel(name: str) -> Kernel:
    """The corpus kernel whose ``:name`` is ``name``."""
    kernels, _ = load_corpus()
    for kernel in kernels:
        if kernel.name == name:
            return kernel
    raise KeyError(
        f"no corpus kernel named '{name}'{_did_you_mean(name, [k.name for k in kernels])}"
    )
