"""The actor (ExprNnue, trained by explicit numpy kernels as a manual-optimization
LightningModule) and the critic (a causal transformer, ``critic/``). Imports ``src/expr``
and ``src/data/schema`` only (and the shared config and file helpers): rule templates
are passed in, never imported from ``src/selfplay``."""
