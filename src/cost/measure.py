"""Measured cost: nanoseconds per element of an expression's compiled kernel.

``CostMeter.measure`` compiles the expression (cached), runs it on seeded inputs sampled
from each variable's range, warms up, then times ``groups`` groups of back-to-back calls
in native code, each group after the machine is quiet (``quiet.py``). A group's fastest
call is its estimate; the cost is the smallest estimate (noise only ever adds time) and
the spread is the range of the estimates relative to it. The timer's own overhead
(measured once, on an empty kernel) is subtracted. Outputs that are inf or NaN on the
sampled inputs are counted in the result, never dropped.

Costs are cached in memory and, when a path is given, in an SQLite file keyed by the
expression's text, its variables' ranges, the measurement settings and the machine.

``CostMeter.compare`` times an input and its candidates in interleaved rounds, for
speedups that repeat far better than the ratio of two separate measurements (see
``paired.py``). Comparisons are not cached: a speedup is a relation measured in one
window, and the caller that wants one (is this candidate really faster?) wants it
measured now, while an input's cost from an earlier window is what ``measure`` caches.
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

import llvmlite
import numpy as np
from omegaconf import DictConfig

from src.config import PROJECT_ROOT, conf_group, settings_from_config
from src.expr import Expr, VarRange, const, parse_sexpr
from src.expr.sampling import sample_inputs
from src.expr.settings import default_range, log_uniform_ratio

from .cost_cache import CostCache
from .jit import ALIGN_BYTES, BoundCall, Jit, JitSettings, default_jit, host_description, shared_jit
from .paired import PairedSettings, default_paired_settings, log_margins, rotation, speedups
from .quiet import QuietGate
from .records import Comparison, Measurement, PairedCost


@dataclass(frozen=True)
class MeasureSettings:
    elements: int
    seed: int
    warmup_calls: int
    groups: int
    group_ms: float
    min_calls: int
    max_calls: int
    timer_calls: int
    quiet_probe: str
    quiet_probe_calls: int
    quiet_tolerance: float
    quiet_wait_ms: float
    quiet_max_wait_ms: float
    quiet_history: int

    def __post_init__(self) -> None:
        for key in (
            "elements",
            "groups",
            "min_calls",
            "timer_calls",
            "quiet_probe_calls",
            "quiet_history",
        ):
            if getattr(self, key) < 1:
                raise ValueError(f"cost.measure.{key} must be at least 1")
        if self.max_calls < self.min_calls:
            raise ValueError("cost.measure.max_calls must be at least min_calls")


def _settle(samples: np.ndarray, overhead_ns: float, elements: int) -> float:
    return max(float(samples.min()) - overhead_ns, 0.0) / elements


class CostMeter:
    """Measures expressions with one ``Jit`` and one set of settings, with caches."""

    def __init__(
        self,
        jit: Jit | None = None,
        settings: MeasureSettings | None = None,
        cache_path: Path | None = None,
        paired: PairedSettings | None = None,
    ) -> None:
        self.jit = jit if jit is not None else default_jit()  # a Jit with no kernels is falsy
        self.settings = settings or default_measure_settings()
        self.paired = paired or default_paired_settings()
        self._memory: dict[str, Measurement] = {}
        self._disk = CostCache(cache_path) if cache_path is not None else None
        self.timer_overhead_ns = self._timer_overhead()
        s = self.settings
        probe = parse_sexpr(s.quiet_probe)
        self.gate = QuietGate(
            self.bind(probe, {v: default_range() for v in probe.variables}),
            s.quiet_probe_calls,
            s.quiet_tolerance,
            s.quiet_wait_ms,
            s.quiet_history,
        )

    def _timer_overhead(self) -> float:
        """The cheapest timed call of an empty kernel (n = 0): what every sample
        includes besides the kernel's work."""
        empty = self.jit.compile(const(0.0)).bind({}, n=0)
        return float(empty.time_calls(self.settings.timer_calls).min())

    def fingerprint(self) -> str:
        """The machine and the compiler, as far as they change what a kernel costs."""
        jit = self.jit.settings
        return (
            f"{platform.machine()} {host_description()} llvmlite {llvmlite.__version__} "
            f"lanes {jit.lanes} codegen {jit.codegen_level} passes {jit.ir_pass_level} "
            f"fast {jit.fast_math} align {ALIGN_BYTES} flush {jit.flush_subnormals} "
            "folds constants"
        )

    def _key(self, expr: Expr, ranges: Mapping[str, VarRange]) -> str:
        used = {v: [ranges[v].lo, ranges[v].hi, ranges[v].min_abs] for v in sorted(ranges)}
        payload = {
            "expr": expr.text,
            "ranges": used,
            "settings": asdict(self.settings),
            "log_uniform_ratio": log_uniform_ratio(),
            "machine": self.fingerprint(),
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

    def measure(
        self, expr: Expr, ranges: Mapping[str, VarRange] | None = None, fresh: bool = False
    ) -> Measurement:
        """The cost of ``expr`` on inputs from ``ranges`` (the default range for any
        variable it does not name). ``fresh`` measures again and replaces what the caches
        hold."""
        full = {v: (ranges or {}).get(v, default_range()) for v in expr.variables}
        key = self._key(expr, full)
        found = None if fresh else self._memory.get(key)
        if found is None and self._disk is not None and not fresh:
            found = self._disk.get(key)
        if found is None:
            found = self._run(self.bind(expr, full))
            if self._disk is not None:
                self._disk.put(key, found)
        self._memory[key] = found
        return found

    def bind(self, expr: Expr, ranges: Mapping[str, VarRange]) -> BoundCall:
        """``expr``'s kernel bound to the measurement's sampled inputs."""
        kernel = self.jit.compile(expr)
        s = self.settings
        inputs = sample_inputs(ranges, kernel.variables, s.elements, s.seed, log_uniform_ratio())
        return kernel.bind(inputs, n=s.elements)

    def _calls_per_group(self, call: BoundCall, group_ms: float, min_calls: int) -> int:
        """Warms ``call`` up; the calls that take about ``group_ms``, within the bounds."""
        s = self.settings
        warm = call.time_calls(max(1, s.warmup_calls))
        per_call_ms = max(float(warm.min()), 1.0) / 1e6
        return int(np.clip(math.ceil(group_ms / per_call_ms), min_calls, s.max_calls))

    def _run(self, call: BoundCall) -> Measurement:
        s = self.settings
        calls = self._calls_per_group(call, s.group_ms, s.min_calls)
        estimates = np.empty(s.groups)
        quiet, budget_ms = True, s.quiet_max_wait_ms
        for group in range(s.groups):
            quiet_now, waited_ms = self.gate.wait(budget_ms)
            quiet, budget_ms = quiet and quiet_now, budget_ms - waited_ms
            estimates[group] = _settle(call.time_calls(calls), self.timer_overhead_ns, s.elements)
        cost = float(estimates.min())
        spread = float(np.ptp(estimates) / cost * 100) if cost > 0 else 0.0
        nonfinite = int(np.count_nonzero(~np.isfinite(call.out)))
        return Measurement(cost, spread, nonfinite, s.elements, calls * s.groups, quiet)

    def compare(
        self, exprs: Sequence[Expr], ranges: Mapping[str, VarRange] | None = None
    ) -> Comparison:
        """The costs of ``exprs`` (the input first, then its candidates) timed in
        interleaved rounds, and each one's speedup over the first with its noise margin
        (``paired.py``). Inputs come from ``ranges`` (the default range for any variable
        it does not name). The quiet gate waits at most ``paired.max_wait_ms`` in all."""
        if not exprs:
            raise ValueError("compare needs at least one expression")
        s, p = self.settings, self.paired
        names = set().union(*(e.variables for e in exprs))
        full = {v: (ranges or {}).get(v, default_range()) for v in names}
        bound = [self.bind(e, full) for e in exprs]
        calls = [self._calls_per_group(b, p.group_ms, p.min_calls) for b in bound]
        round_ns = np.empty((p.rounds, len(bound)))
        quiet, waited_ms = True, 0.0
        for r in range(p.rounds):
            quiet_now, waited = self.gate.wait(p.max_wait_ms - waited_ms)
            quiet, waited_ms = quiet and quiet_now, waited_ms + waited
            for k in rotation(r, len(bound)):
                samples = bound[k].time_calls(calls[k])
                round_ns[r, k] = _settle(samples, self.timer_overhead_ns, s.elements)
        ratio, margin = speedups(round_ns, p.speedup), log_margins(round_ns, p.margin_z)
        costs = tuple(
            PairedCost(
                float(round_ns[:, k].min()),
                float(ratio[k]),
                float(margin[k]),
                int(np.count_nonzero(~np.isfinite(b.out))),
                calls[k] * p.rounds,
            )
            for k, b in enumerate(bound)
        )
        rows = tuple(tuple(float(x) for x in row) for row in round_ns)
        return Comparison(costs, rows, s.elements, quiet, waited_ms)


def default_measure_settings() -> MeasureSettings:
    return settings_from_config(MeasureSettings, conf_group("cost").measure, "cost.measure")


def meter_from_config(cost: DictConfig) -> CostMeter:
    """A meter with the JIT settings, measurement settings and disk cache of ``cost``, a
    composed ``cost`` config group (its kernels compile with the process's shared ``Jit``
    for those settings). An entry point passes its own, so that its overrides apply (an
    interactive tool sets a low ``measure.paired.max_wait_ms``)."""
    disk = cost.cache.disk
    return CostMeter(
        jit=shared_jit(settings_from_config(JitSettings, cost.jit, "cost.jit")),
        settings=settings_from_config(MeasureSettings, cost.measure, "cost.measure"),
        cache_path=PROJECT_ROOT / disk if disk else None,
        paired=settings_from_config(PairedSettings, cost.measure.paired, "cost.measure.paired"),
    )


@cache
def default_meter() -> CostMeter:
    """The process's shared ``CostMeter``, with the settings (and disk cache) in
    ``conf/cost``."""
    return meter_from_config(conf_group("cost"))


def measure(expr: Expr, ranges: Mapping[str, VarRange] | None = None) -> Measurement:
    """The measured cost of ``expr`` with the default meter (see ``CostMeter.measure``)."""
    return default_meter().measure(expr, ranges)
