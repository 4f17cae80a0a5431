"""Compiling expressions to native vector kernels with LLVM (llvmlite, which numba ships).

One ``Jit`` owns one long-lived MCJIT execution engine; every compiled kernel is a
module added to it, so compiling thousands of expressions never creates (or tears down)
an engine. Kernels are cached by the expression's canonical text: compiling the same
expression twice returns the same ``CompiledKernel``. Modules stay in the engine for the
life of the ``Jit`` (a few KiB each); a long-lived process that compiles unboundedly many
distinct expressions should start a new ``Jit`` now and then.
"""

from __future__ import annotations

import ctypes
import hashlib
import itertools
import platform
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

import llvmlite.binding as llvm
import numpy as np
from numpy.typing import ArrayLike

from src.config import conf_group, settings_from_config
from src.expr import Expr

from .kernel_ir import HARNESS_NAME, kernel_ir, runtime_ir

_KERNEL_TYPE = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)
_HARNESS_TYPE = ctypes.CFUNCTYPE(
    None,
    ctypes.c_void_p,
    ctypes.c_void_p,
    ctypes.c_void_p,
    ctypes.c_int64,
    ctypes.c_int64,
    ctypes.c_void_p,
)


@dataclass(frozen=True)
class JitSettings:
    """``lanes``: float32 lanes of the vector loop (a power of two); ``codegen_level``:
    LLVM's code generator optimization level 0-3; ``ir_pass_level``: the speed level of
    LLVM's IR pass pipeline, 0 to skip it; ``fast_math``: the default for
    ``Jit.compile``; ``flush_subnormals``: the timing harness runs the timed calls with
    subnormals flushed to zero (x86-64 only; ``kernel_ir.harness_ir``)."""

    lanes: int
    codegen_level: int
    ir_pass_level: int
    fast_math: bool
    flush_subnormals: bool

    def __post_init__(self) -> None:
        if self.lanes < 1 or self.lanes & (self.lanes - 1):
            raise ValueError(f"cost.jit.lanes must be a power of two, not {self.lanes}")
        if self.flush_subnormals and platform.machine().lower() not in ("x86_64", "amd64"):
            raise ValueError(
                "cost.jit.flush_subnormals needs an x86-64 machine (MXCSR), not "
                f"{platform.machine()}; set it to false"
            )
        for key in ("codegen_level", "ir_pass_level"):
            if getattr(self, key) not in (0, 1, 2, 3):
                raise ValueError(f"cost.jit.{key} must be 0, 1, 2 or 3, not {getattr(self, key)}")


@cache
def _initialize_llvm() -> None:
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    llvm.initialize_native_asmparser()


def host_description() -> str:
    """The CPU the kernels are compiled for: LLVM's name for it and a digest of its
    features."""
    _initialize_llvm()
    features = llvm.get_host_cpu_features().flatten().encode()
    return f"{llvm.get_host_cpu_name()} (features {hashlib.sha256(features).hexdigest()[:12]})"


class CompiledKernel:
    """A native kernel for one expression. Call it with a mapping from variable name to
    float32 array (all the same length) to get the outputs."""

    def __init__(self, jit: Jit, expr: Expr, address: int, compile_ms: float, fast: bool) -> None:
        self.jit = jit
        self.expr = expr
        self.variables = tuple(sorted(expr.variables))
        self.compile_ms = compile_ms
        self.fast_math = fast
        self.address = address
        self.function = _KERNEL_TYPE(address)

    def bind(self, inputs: Mapping[str, ArrayLike], n: int | None = None) -> BoundCall:
        """The kernel's arguments for ``inputs``, ready to run (or time) many times."""
        missing = [v for v in self.variables if v not in inputs]
        if missing:
            raise KeyError(f"no input for variable(s): {', '.join(missing)}")
        arrays = [np.ascontiguousarray(inputs[v], dtype=np.float32) for v in self.variables]
        if any(a.ndim != 1 for a in arrays):
            raise ValueError("kernel inputs must be one-dimensional arrays")
        lengths = {a.size for a in arrays} | ({n} if n is not None else set())
        if len(lengths) != 1:
            detail = "no inputs and no n" if not lengths else f"lengths {sorted(lengths)}"
            raise ValueError(f"kernel inputs must all have one length ({detail})")
        return BoundCall(self, arrays, lengths.pop())

    def __call__(self, inputs: Mapping[str, ArrayLike], n: int | None = None) -> np.ndarray:
        call = self.bind(inputs, n)
        call.run()
        return call.out


# Input and output arrays start on a cache line: numpy gives 16-byte alignment, so the
# kernel's 32-byte vector loads straddle cache lines in some bindings and not in others,
# and the same kernel measured 1-3.5% apart from one binding to the next.
ALIGN_BYTES = 64


def aligned_copy(values: np.ndarray) -> np.ndarray:
    """``values`` as float32, in a new array whose data starts on an ``ALIGN_BYTES``
    boundary."""
    itemsize = np.dtype(np.float32).itemsize
    raw = np.empty(values.size + ALIGN_BYTES // itemsize, dtype=np.float32)
    start = (-raw.ctypes.data % ALIGN_BYTES) // itemsize
    array = raw[start : start + values.size]
    array[:] = values
    return array


class BoundCall:
    """A kernel with its input arrays and an output array (each aligned to a cache
    line), called without reallocation."""

    def __init__(self, kernel: CompiledKernel, arrays: list[np.ndarray], n: int) -> None:
        self.kernel = kernel
        # copies that keep the inputs alive while their addresses are in use
        arrays = [aligned_copy(a) for a in arrays]
        self.arrays = arrays
        self.n = n
        self.out = aligned_copy(np.zeros(n, dtype=np.float32))
        self._pointers = (ctypes.c_void_p * max(1, len(arrays)))(*(a.ctypes.data for a in arrays))

    def run(self) -> None:
        self.kernel.function(ctypes.addressof(self._pointers), self.out.ctypes.data, self.n)

    def time_calls(self, calls: int) -> np.ndarray:
        """Nanoseconds of each of ``calls`` back-to-back calls, timed in native code."""
        times = np.empty(calls, dtype=np.int64)
        self.kernel.jit.harness(
            self.kernel.address,
            ctypes.addressof(self._pointers),
            self.out.ctypes.data,
            self.n,
            calls,
            times.ctypes.data,
        )
        return times


class Jit:
    """One LLVM execution engine and the kernels compiled into it."""

    def __init__(self, settings: JitSettings | None = None) -> None:
        _initialize_llvm()
        self.settings = settings or default_jit_settings()
        target = llvm.Target.from_default_triple()
        self._machine = target.create_target_machine(
            cpu=llvm.get_host_cpu_name(),
            features=llvm.get_host_cpu_features().flatten(),
            opt=self.settings.codegen_level,
            jit=True,
        )
        self._engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), self._machine)
        self._passes = (
            llvm.create_pass_builder(
                self._machine,
                llvm.create_pipeline_tuning_options(speed_level=self.settings.ir_pass_level),
            )
            if self.settings.ir_pass_level > 0
            else None
        )
        self._names = (f"pixelflow_kernel_{k}" for k in itertools.count())
        self._kernels: dict[tuple[str, bool], CompiledKernel] = {}
        # harness(kernel, inputs, out, n, calls, times): times ``calls`` calls of a kernel.
        self.harness = _HARNESS_TYPE(
            self._add_module(
                runtime_ir(self.settings.lanes, self.settings.flush_subnormals), HARNESS_NAME
            )
        )

    def _add_module(self, ir_text: str, name: str) -> int:
        module = llvm.parse_assembly(ir_text)
        module.verify()
        if self._passes is not None:
            self._passes.getModulePassManager().run(module, self._passes)
        self._engine.add_module(module)
        self._engine.finalize_object()
        return self._engine.get_function_address(name)

    def compile(self, expr: Expr, fast_math: bool | None = None) -> CompiledKernel:
        """The kernel computing ``expr`` (compiled now, or from the cache)."""
        fast = self.settings.fast_math if fast_math is None else fast_math
        key = (expr.text, fast)
        kernel = self._kernels.get(key)
        if kernel is None:
            start = time.perf_counter()
            name = next(self._names)
            address = self._add_module(kernel_ir(expr, name, self.settings.lanes, fast), name)
            compile_ms = (time.perf_counter() - start) * 1e3
            kernel = self._kernels[key] = CompiledKernel(self, expr, address, compile_ms, fast)
        return kernel

    def clear(self) -> None:
        """Forget the compiled kernels (their code stays in the engine), so the next
        compile of each is paid again, as a fresh process pays it."""
        self._kernels.clear()

    def __len__(self) -> int:
        return len(self._kernels)


def default_jit_settings() -> JitSettings:
    return settings_from_config(JitSettings, conf_group("cost").jit, "cost.jit")


@cache
def shared_jit(settings: JitSettings) -> Jit:
    """The process's shared ``Jit`` for ``settings`` (kernels compile once per process)."""
    return Jit(settings)


def default_jit() -> Jit:
    """The process's shared ``Jit``, with the settings in ``conf/cost``."""
    return shared_jit(default_jit_settings())
