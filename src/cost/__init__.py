"""JIT compilation, runtime measurement and the static cost model: not built yet."""
