"""The LLVM IR of a compiled expression and of the timing harness.

A kernel is ``void NAME(ptr inputs, ptr out, i64 n)``: ``inputs`` points to one float
array per variable (sorted by name), each of ``n`` elements, and the kernel writes ``n``
results to ``out``. A vector loop handles ``lanes`` elements per iteration and a scalar
loop the remaining ``n % lanes``. Each distinct node of the expression's DAG is
computed once per iteration, however many parents share it.
"""

from __future__ import annotations

from src.expr import BOOL, CONST, OPS, VAR, Expr, postorder
from src.expr.fold import fold_constants

from .lowering import LOWERINGS, MATH_LIBRARY, Emitter, vector_helper_ir

# The harness times ``reps`` calls of a kernel, one clock_gettime(CLOCK_MONOTONIC) pair
# per call, so Python's call overhead is never part of a measurement. On x86-64 it can
# time them with subnormals flushed to zero (MXCSR's FTZ and DAZ bits set for the timed
# calls alone, the caller's MXCSR restored after): an op on a subnormal takes a microcode
# assist whose cost on this machine changes from one process and moment to the next (the
# same kernel timed 2.2x apart; docs/training.md), and log-uniform inputs make many.
CLOCK_MONOTONIC = 1
HARNESS_NAME = "pixelflow_time_calls"
MXCSR_FLUSH_BITS = 0x8040  # FTZ (bit 15) and DAZ (bit 6)
_MXCSR_DECLARE = """declare void @llvm.x86.sse.stmxcsr(ptr)
declare void @llvm.x86.sse.ldmxcsr(ptr)"""
_MXCSR_FLUSH = f"""  %saved = alloca i32, align 4
  %flushed = alloca i32, align 4
  call void @llvm.x86.sse.stmxcsr(ptr %saved)
  %old = load i32, ptr %saved
  %new = or i32 %old, {MXCSR_FLUSH_BITS}
  store i32 %new, ptr %flushed
  call void @llvm.x86.sse.ldmxcsr(ptr %flushed)"""
_MXCSR_RESTORE = "  call void @llvm.x86.sse.ldmxcsr(ptr %saved)"


def harness_ir(flush_subnormals: bool) -> str:
    """The timing harness's IR; ``flush_subnormals`` needs an x86-64 target."""
    return f"""
declare i32 @clock_gettime(i32, ptr)
{_MXCSR_DECLARE if flush_subnormals else ""}

define void @{HARNESS_NAME}(ptr %fn, ptr %inputs, ptr %out, i64 %n, i64 %reps, ptr %times) {{
entry:
{_MXCSR_FLUSH if flush_subnormals else ""}
  %ts = alloca {{i64, i64}}, align 8
  %sec = getelementptr inbounds {{i64, i64}}, ptr %ts, i32 0, i32 0
  %nsec = getelementptr inbounds {{i64, i64}}, ptr %ts, i32 0, i32 1
  %any = icmp sgt i64 %reps, 0
  br i1 %any, label %loop, label %exit
loop:
  %r = phi i64 [0, %entry], [%next, %loop]
  call i32 @clock_gettime(i32 {CLOCK_MONOTONIC}, ptr %ts)
  %s0 = load volatile i64, ptr %sec
  %n0 = load volatile i64, ptr %nsec
  call void %fn(ptr %inputs, ptr %out, i64 %n)
  call i32 @clock_gettime(i32 {CLOCK_MONOTONIC}, ptr %ts)
  %s1 = load volatile i64, ptr %sec
  %n1 = load volatile i64, ptr %nsec
  %ds = sub i64 %s1, %s0
  %dsns = mul i64 %ds, 1000000000
  %dn = sub i64 %n1, %n0
  %d = add i64 %dsns, %dn
  %slot = getelementptr inbounds i64, ptr %times, i64 %r
  store i64 %d, ptr %slot
  %next = add nuw i64 %r, 1
  %more = icmp slt i64 %next, %reps
  br i1 %more, label %loop, label %exit
exit:
{_MXCSR_RESTORE if flush_subnormals else ""}
  ret void
}}
"""


def runtime_ir(lanes: int, flush_subnormals: bool) -> str:
    """The module every kernel links against: the timing harness and the vector helpers
    of the math library functions."""
    helpers = [
        vector_helper_ir(function, OPS[op].arity, lanes) for op, function in MATH_LIBRARY.items()
    ]
    return "\n".join([harness_ir(flush_subnormals), *helpers])


def _body(
    expr: Expr, nodes: list[Expr], slots: dict[str, int], emitter: Emitter, index: str
) -> str:
    """Emit one loop body at element ``index``; returns the operand holding the result."""
    values: dict[Expr, str] = {}
    for node in nodes:
        if node.op == VAR:
            address = emitter.fresh()
            emitter.lines.append(
                f"  {address} = getelementptr inbounds float, ptr %in{slots[node.name]}, "
                f"i64 {index}"
            )
            values[node] = emitter.fresh()
            emitter.lines.append(f"  {values[node]} = load {emitter.float}, ptr {address}, align 4")
        elif node.op == CONST:
            values[node] = emitter.constant(node.value)
        else:
            values[node] = LOWERINGS[node.op](emitter, *(values[c] for c in node.args))
    result = values[expr]
    if expr.sort == BOOL:
        result = emitter.bool_to_float(result)
    return result


def kernel_ir(expr: Expr, name: str, lanes: int, fast: bool) -> str:
    """The textual LLVM IR module of the kernel ``name`` computing ``expr``, its
    subexpressions of constants alone folded first (``fold_constants``), as an optimizing
    compiler folds ``cosf(0.8f)``. LLVM does not here (its IR passes are skipped at
    ``ir_pass_level`` 0, and the vector math functions are this project's own IR), so a
    kernel would otherwise pay for each such op on every element."""
    expr = fold_constants(expr)
    variables = sorted(expr.variables)
    slots = {v: k for k, v in enumerate(variables)}
    nodes = postorder(expr)
    vector = Emitter("v", lanes, fast)
    vector_result = _body(expr, nodes, slots, vector, "%i")
    scalar = Emitter("s", 1, fast)
    scalar_result = _body(expr, nodes, slots, scalar, "%j")
    loads = []
    for k in range(len(variables)):
        loads.append(f"  %slot{k} = getelementptr inbounds ptr, ptr %inputs, i64 {k}")
        loads.append(f"  %in{k} = load ptr, ptr %slot{k}, align 8")
    declarations = sorted(vector.declarations | scalar.declarations)
    lines = [
        *declarations,
        "",
        f"define void @{name}(ptr noalias readonly %inputs, ptr noalias %out, i64 %n) "
        "noinline nounwind {",
        "entry:",
        *loads,
        f"  %nvec = and i64 %n, {-lanes}",
        "  %anyvec = icmp sgt i64 %nvec, 0",
        "  br i1 %anyvec, label %vloop, label %vdone",
        "vloop:",
        "  %i = phi i64 [0, %entry], [%inext, %vloop]",
        *vector.lines,
        "  %vout = getelementptr inbounds float, ptr %out, i64 %i",
        f"  store {vector.float} {vector_result}, ptr %vout, align 4",
        f"  %inext = add nuw i64 %i, {lanes}",
        "  %vmore = icmp slt i64 %inext, %nvec",
        "  br i1 %vmore, label %vloop, label %vdone",
        "vdone:",
        "  %anytail = icmp slt i64 %nvec, %n",
        "  br i1 %anytail, label %sloop, label %exit",
        "sloop:",
        "  %j = phi i64 [%nvec, %vdone], [%jnext, %sloop]",
        *scalar.lines,
        "  %sout = getelementptr inbounds float, ptr %out, i64 %j",
        f"  store float {scalar_result}, ptr %sout, align 4",
        "  %jnext = add nuw i64 %j, 1",
        "  %smore = icmp slt i64 %jnext, %n",
        "  br i1 %smore, label %sloop, label %exit",
        "exit:",
        "  ret void",
        "}",
    ]
    return "\n".join(lines) + "\n"
