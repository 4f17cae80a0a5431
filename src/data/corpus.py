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


def _band(kernel: Kernel) -> int:
    """Where ``kernel`` falls in [0, 1000): a hash of its name, so that every split of the
    corpus is the same on every machine."""
    return zlib.crc32(kernel.name.encode()) % 1000


def trainable(kernel: Kernel, holdout: float, max_dag_nodes: int) -> bool:
    """Whether ``kernel`` is on training's side of the corpus: a numeric kernel of at most
    ``max_dag_nodes`` DAG nodes outside the held-out share ``holdout`` (the first
    ``holdout`` of the hash's range). Evaluation's corpus suite is every other kernel:
    none of them is ever trained on."""
    held_out = _band(kernel) < round(holdout * 1000)
    return not held_out and kernel.body.dag_nodes <= max_dag_nodes and kernel.body.sort == "num"


def validates(kernel: Kernel, holdout: float, validation: float) -> bool:
    """Whether ``kernel`` is in the validation band: the share ``validation`` of the hash's
    range just after the held-out share. Training's validation reads these kernels and
    self-play never starts from them; evaluation's suite does not change with the band."""
    start = round(holdout * 1000)
    return start <= _band(kernel) < start + round(validation * 1000)


@cache
def trainable_kernels(
    holdout: float, max_dag_nodes: int, validation: float = 0.0, in_band: bool = False
) -> tuple[Kernel, ...]:
    """The ``trainable`` corpus kernels outside the validation band (self-play's seeds),
    or with ``in_band`` those inside it (validation's)."""
    return tuple(
        k
        for k in load_corpus()[0]
        if trainable(k, holdout, max_dag_nodes) and validates(k, holdout, validation) == in_band
    )


def load_kernel(name: str) -> Kernel:
    """The corpus kernel whose ``:name`` is ``name``."""
    kernels, _ = load_corpus()
    for kernel in kernels:
        if kernel.name == name:
            return kernel
    raise KeyError(
        f"no corpus kernel named '{name}'{_did_you_mean(name, [k.name for k in kernels])}"
    )
