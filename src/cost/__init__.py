"""Cost: expressions JIT-compiled to native vector kernels (``jit``), their measured
runtime (``measure``), the differential check against the reference evaluator
(``check``), and the calibrated static cost model (``static``, ``calibrate``)."""
