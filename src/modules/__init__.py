"""The actor (ExprNnue, trained by explicit numpy kernels as a manual-optimization
LightningModule); the critic (causal transformer) is not built yet. Imports ``src/expr``
only (and the shared config reader): rule templates are passed in, never imported from
``src/selfplay``."""
