"""How each op of the op table becomes LLVM IR: the JIT's half of "one row per op".

A lowering is a function of an ``Emitter`` and the op's already-lowered arguments that
emits instructions and returns the operand holding the result. The same lowering serves
the vector loop and the scalar tail: the emitter knows the width. Arithmetic and the ops
the hardware has (sqrt, fabs, floor, fma, minnum, ...) are LLVM instructions or
intrinsics; the transcendental ops call the C math library (``sinf``, ``powf``, ...) once
per lane.
"""

from __future__ import annotations

import struct
from collections.abc import Callable


def float_literal(value: float) -> str:
    """An LLVM IR ``float`` literal: the exact value as a hex double (float32-exact)."""
    if value != value:
        return "0x7FF8000000000000"
    return f"0x{struct.unpack('<Q', struct.pack('<d', value))[0]:016X}"


def helper_name(function: str, lanes: int) -> str:
    return f"pixelflow_v{lanes}_{function}"


def vector_helper_ir(function: str, arity: int, lanes: int) -> str:
    """A function applying the C math function ``function`` to each of ``lanes`` lanes.

    Kernels call these instead of spelling out the lanes themselves: the same machine
    code, and each kernel compiles several times faster.
    """
    vector = f"<{lanes} x float>"
    params = ", ".join(f"{vector} %a{k}" for k in range(arity))
    lines = [
        f"declare float @{function}({', '.join(['float'] * arity)})",
        f"define {vector} @{helper_name(function, lanes)}({params}) nounwind {{",
        "entry:",
    ]
    result = "poison"
    for lane in range(lanes):
        for k in range(arity):
            lines.append(f"  %x{k}_{lane} = extractelement {vector} %a{k}, i32 {lane}")
        operands = ", ".join(f"float %x{k}_{lane}" for k in range(arity))
        lines.append(f"  %y{lane} = call float @{function}({operands})")
        lines.append(f"  %r{lane} = insertelement {vector} {result}, float %y{lane}, i32 {lane}")
        result = f"%r{lane}"
    lines += [f"  ret {vector} {result}", "}"]
    return "\n".join(lines) + "\n"


class Emitter:
    """Appends the instructions of one loop body, ``lanes`` wide (1 for the scalar tail).

    ``fast`` puts LLVM's ``fast`` flags on float instructions and math calls.
    """

    def __init__(self, prefix: str, lanes: int, fast: bool) -> None:
        self.prefix = prefix
        self.lanes = lanes
        self.flags = "fast " if fast else ""
        self.float = f"<{lanes} x float>" if lanes > 1 else "float"
        self.bool = f"<{lanes} x i1>" if lanes > 1 else "i1"
        self.suffix = f"v{lanes}f32" if lanes > 1 else "f32"
        self.lines: list[str] = []
        self.declarations: set[str] = set()
        self._count = 0

    def fresh(self) -> str:
        self._count += 1
        return f"%{self.prefix}{self._count}"

    def constant(self, value: float) -> str:
        literal = float_literal(value)
        return f"splat (float {literal})" if self.lanes > 1 else literal

    def _assign(self, text: str) -> str:
        name = self.fresh()
        self.lines.append(f"  {name} = {text}")
        return name

    def binop(self, opcode: str, a: str, b: str) -> str:
        return self._assign(f"{opcode} {self.flags}{self.float} {a}, {b}")

    def fneg(self, a: str) -> str:
        return self._assign(f"fneg {self.flags}{self.float} {a}")

    def intrinsic(self, name: str, *args: str) -> str:
        function = f"@llvm.{name}.{self.suffix}"
        params = ", ".join([self.float] * len(args))
        self.declarations.add(f"declare {self.float} {function}({params})")
        operands = ", ".join(f"{self.float} {a}" for a in args)
        return self._assign(f"call {self.flags}{self.float} {function}({operands})")

    def libm(self, name: str, *args: str) -> str:
        """A call of the C math function ``name`` (float32 version); a vector calls the
        runtime's helper that applies it lane by lane (see ``vector_helper_ir``)."""
        function = f"@{name}" if self.lanes == 1 else f"@{helper_name(name, self.lanes)}"
        params = ", ".join([self.float] * len(args))
        self.declarations.add(f"declare {self.float} {function}({params})")
        operands = ", ".join(f"{self.float} {a}" for a in args)
        return self._assign(f"call {self.flags}{self.float} {function}({operands})")

    def fcmp(self, predicate: str, a: str, b: str) -> str:
        return self._assign(f"fcmp {self.flags}{predicate} {self.float} {a}, {b}")

    def logic(self, opcode: str, a: str, b: str) -> str:
        return self._assign(f"{opcode} {self.bool} {a}, {b}")

    def true(self) -> str:
        return "splat (i1 true)" if self.lanes > 1 else "true"

    def select(self, condition: str, a: str, b: str) -> str:
        return self._assign(f"select {self.bool} {condition}, {self.float} {a}, {self.float} {b}")

    def bool_to_float(self, a: str) -> str:
        return self._assign(f"uitofp {self.bool} {a} to {self.float}")


def _binop(opcode: str) -> Callable[..., str]:
    return lambda e, a, b: e.binop(opcode, a, b)


def _intrinsic(name: str) -> Callable[..., str]:
    return lambda e, *args: e.intrinsic(name, *args)


def _libm(name: str) -> Callable[..., str]:
    return lambda e, *args: e.libm(name, *args)


# The ops computed by the C math library, and its float32 function for each.
MATH_LIBRARY = {
    "sin": "sinf",
    "cos": "cosf",
    "tan": "tanf",
    "asin": "asinf",
    "acos": "acosf",
    "atan": "atanf",
    "atan2": "atan2f",
    "exp": "expf",
    "exp2": "exp2f",
    "log": "logf",
    "log2": "log2f",
    "log10": "log10f",
    "pow": "powf",
    "hypot": "hypotf",
}


def _fcmp(predicate: str) -> Callable[..., str]:
    return lambda e, a, b: e.fcmp(predicate, a, b)


def _logic(opcode: str) -> Callable[..., str]:
    return lambda e, a, b: e.logic(opcode, a, b)


# Comparisons are ordered (false when either side is NaN) except ``ne`` (true then), as
# in C and numpy. minnum/maxnum return the other operand when one is NaN, like fmin/fmax.
LOWERINGS: dict[str, Callable[..., str]] = {
    "add": _binop("fadd"),
    "sub": _binop("fsub"),
    "mul": _binop("fmul"),
    "div": _binop("fdiv"),
    "neg": lambda e, a: e.fneg(a),
    "recip": lambda e, a: e.binop("fdiv", e.constant(1.0), a),
    "sqrt": _intrinsic("sqrt"),
    "rsqrt": lambda e, a: e.binop("fdiv", e.constant(1.0), e.intrinsic("sqrt", a)),
    "abs": _intrinsic("fabs"),
    "min": _intrinsic("minnum"),
    "max": _intrinsic("maxnum"),
    "fma": _intrinsic("fma"),
    "floor": _intrinsic("floor"),
    "ceil": _intrinsic("ceil"),
    "round": _intrinsic("round"),
    "fract": lambda e, a: e.binop("fsub", a, e.intrinsic("floor", a)),
    **{op: _libm(function) for op, function in MATH_LIBRARY.items()},
    "lt": _fcmp("olt"),
    "le": _fcmp("ole"),
    "gt": _fcmp("ogt"),
    "ge": _fcmp("oge"),
    "eq": _fcmp("oeq"),
    "ne": _fcmp("une"),
    "and": _logic("and"),
    "or": _logic("or"),
    "not": lambda e, a: e.logic("xor", a, e.true()),
    "select": lambda e, c, a, b: e.select(c, a, b),
}
