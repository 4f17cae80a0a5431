"""Turning user input, in any of the three syntaxes, into kernels.

An input is a file or a piece of text. FPCore text may hold many FPCores; other text
holds one expression per line (blank lines and lines starting with ``;`` or ``#`` are
skipped). With ``syntax="auto"`` each piece decides for itself: text starting with
``(FPCore`` is FPCore, a list whose head is a known function name followed by a space
(``(+ x 1)``, ``(sin x)``) is an s-expression, anything else is infix.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .errors import ParseError, SourceLoc
from .expr import Expr
from .fpcore import KernelError, parse_fpcore_file
from .infix import parse_infix
from .kernel import Kernel, VarRange
from .settings import default_range
from .sexpr import CALLS as SEXPR_CALLS
from .sexpr import parse_sexpr

SYNTAXES = ("auto", "fpcore", "sexpr", "infix")
_SEXPR_HEAD = re.compile(r"\(\s*([^\s()\[\]\";]+)[\s)]")
_FPCORE_START = re.compile(r"(?:\s|;[^\n]*\n)*\(\s*FPCore[\s(]")


class InputError(ValueError):
    """A command-line input that names a file which cannot be read."""


def detect_syntax(text: str) -> str:
    """``fpcore``, ``sexpr`` or ``infix``: the syntax ``text`` is written in."""
    if _FPCORE_START.match(text):
        return "fpcore"
    head = _SEXPR_HEAD.match(text.lstrip())
    return "sexpr" if head and head.group(1) in SEXPR_CALLS else "infix"


def parse_expression(
    text: str, syntax: str = "auto", file: str | None = None, line: int = 1
) -> Expr:
    """One s-expression or infix expression; ``line`` is where it starts in ``file``."""
    if syntax == "auto":
        syntax = detect_syntax(text)
    if syntax == "fpcore":
        raise ParseError("expected an expression, found an FPCore", SourceLoc(line, 1, file))
    try:
        return parse_sexpr(text, file) if syntax == "sexpr" else parse_infix(text, file)
    except ParseError as error:
        if error.loc is None or line == 1:
            raise
        shifted = SourceLoc(error.loc.line + line - 1, error.loc.col, file)
        raise ParseError(error.message, shifted) from None


def read_kernels(
    text: str, file: str | None = None, syntax: str = "auto", default: VarRange | None = None
) -> list[Kernel | KernelError]:
    """Every kernel in ``text``; each one that fails to parse is a KernelError."""
    if syntax not in SYNTAXES:
        raise ValueError(f"syntax must be one of {', '.join(SYNTAXES)}, not {syntax!r}")
    default = default_range() if default is None else default
    if syntax == "fpcore" or (syntax == "auto" and detect_syntax(text) == "fpcore"):
        return parse_fpcore_file(text, file, default)
    if file is None:
        return [_one_kernel(text, text.strip(), syntax, None, 1, default)]
    results = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith((";", "#")):
            results.append(_one_kernel(line, f"{file}:{number}", syntax, file, number, default))
    return results


def _one_kernel(
    text: str, name: str, syntax: str, file: str | None, line: int, default: VarRange
) -> Kernel | KernelError:
    try:
        body = parse_expression(text, syntax, file, line)
    except ParseError as error:
        return KernelError(name, error)
    return Kernel.from_expr(body, name, default, SourceLoc(line, 1, file))


def read_kernel_file(path: Path, syntax: str = "auto") -> list[Kernel | KernelError]:
    """Every kernel in the file at ``path`` (UTF-8). Raises OSError or
    UnicodeDecodeError if it cannot be read."""
    return read_kernels(path.read_text(encoding="utf-8"), str(path), syntax)


def _looks_like_path(text: str) -> bool:
    return not any(c.isspace() or c in "()" for c in text) and (
        os.sep in text or text.endswith((".fpcore", ".txt", ".sexpr"))
    )


def load_input(arg: str, syntax: str = "auto") -> list[Kernel | KernelError]:
    """The kernels of a command-line argument: a file if one exists at ``arg``, else the
    text itself. Raises InputError for a file that cannot be read, or text that can only
    have meant a file (``kernels/missing.fpcore``)."""
    path = Path(arg)
    if path.is_file():
        try:
            return read_kernel_file(path, syntax)
        except (OSError, UnicodeDecodeError) as error:
            raise InputError(f"cannot read {arg}: {error}") from None
    if _looks_like_path(arg):
        raise InputError(f"no such file: {arg}")
    return read_kernels(arg, None, syntax)
