"""``ParseError``: bad input, reported with where it is."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SourceLoc:
    """A place in some input text: 1-based line and column, and the file if there is one."""

    line: int
    col: int
    file: str | None = None

    def __str__(self) -> str:
        return f"{self.file or '<input>'}:{self.line}:{self.col}"


class ParseError(ValueError):
    """Input that is not a valid expression, with the place it went wrong.

    ``str(error)`` is one line: ``FILE:LINE:COL: message``.
    """

    def __init__(self, message: str, loc: SourceLoc | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.loc = loc

    def __str__(self) -> str:
        return f"{self.loc}: {self.message}" if self.loc else self.message
