"""The actor (ExprNnue) and critic (causal transformer) modules: not built yet."""
