"""The critic: a causal transformer that gives V_t for every step of a trajectory
(``model.py``), as a LightningModule with its training and advantage export
(``module.py``), and the seed's standalone command (``python -m src.modules.critic``)."""
