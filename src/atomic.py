"""Writing files so that a reader never sees half of one: write a temporary file beside
the target, flush it to disk, then rename it over the target (atomic on POSIX)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


@contextmanager
def atomic_open(path: Path, mode: str = "w") -> Iterator[IO]:
    """A file opened for writing (``"w"``: UTF-8 text, ``"wb"``: bytes) that replaces
    ``path`` when the block ends without an error; on an error ``path`` is untouched and
    the temporary file is removed. The parent folder must exist."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        encoding = None if "b" in mode else "utf-8"
        with os.fdopen(handle, mode, encoding=encoding) as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically."""
    with atomic_open(path, "wb") as file:
        file.write(data)


def write_text_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8) atomically."""
    with atomic_open(path, "w") as file:
        file.write(text)
