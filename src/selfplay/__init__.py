"""Rule table, e-graph environment and trajectory runner: not built yet."""
