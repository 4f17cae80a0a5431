"""Measured costs kept on disk across runs, in one SQLite file.

SQLite gives atomic writes and safe concurrent use by the self-play worker processes;
a key is a digest of everything a measurement depends on (see ``CostMeter._key``).
"""

from __future__ import annotations

import sqlite3
from dataclasses import astuple, fields
from pathlib import Path

from .records import Measurement

_TIMEOUT_S = 30.0
_COLUMNS = [f.name for f in fields(Measurement)]


class CostCache:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=_TIMEOUT_S)
            with self._db:
                self._db.execute(
                    f"CREATE TABLE IF NOT EXISTS costs (key TEXT PRIMARY KEY, "
                    f"{', '.join(_COLUMNS)})"
                )
        except (OSError, sqlite3.Error) as error:
            raise OSError(f"cost cache {path}: {error}") from None

    def get(self, key: str) -> Measurement | None:
        row = self._db.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM costs WHERE key = ?", (key,)
        ).fetchone()
        return None if row is None else Measurement(*row)

    def put(self, key: str, measurement: Measurement) -> None:
        marks = ", ".join("?" * (len(_COLUMNS) + 1))
        with self._db:
            self._db.execute(
                f"INSERT OR REPLACE INTO costs (key, {', '.join(_COLUMNS)}) VALUES ({marks})",
                (key, *astuple(measurement)),
            )
