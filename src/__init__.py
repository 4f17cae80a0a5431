"""pixelflow: a learned guide for e-graph rewriting of float32 math kernels."""
