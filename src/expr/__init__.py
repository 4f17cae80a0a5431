"""The expression language every layer shares: the op table, ``Expr`` DAGs, the three
syntaxes (FPCore, s-expressions, infix), kernels with input ranges, and the reference
evaluator. See ../shared/DESIGN.md ("One table each")."""

from .errors import ParseError, SourceLoc
from .evaluate import evaluate
from .expr import CONST, VAR, Expr, ExprError, apply, const, match, postorder, substitute, var
from .fpcore import KernelError, parse_fpcore, parse_fpcore_file, print_fpcore
from .infix import parse_infix, print_infix
from .inputs import detect_syntax, parse_expression, read_kernel_file, read_kernels
from .kernel import Kernel, VarRange
from .ops import BOOL, NUM, OPS, OpSpec
from .sexpr import parse_sexpr, print_sexpr

__all__ = [
    "BOOL",
    "CONST",
    "NUM",
    "OPS",
    "VAR",
    "Expr",
    "ExprError",
    "Kernel",
    "KernelError",
    "OpSpec",
    "ParseError",
    "SourceLoc",
    "VarRange",
    "apply",
    "const",
    "detect_syntax",
    "evaluate",
    "match",
    "parse_expression",
    "parse_fpcore",
    "parse_fpcore_file",
    "parse_infix",
    "parse_sexpr",
    "postorder",
    "print_fpcore",
    "print_infix",
    "print_sexpr",
    "read_kernel_file",
    "read_kernels",
    "substitute",
    "var",
]
