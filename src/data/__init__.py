"""Data: the FPCore corpus; later trajectory schemas, BwdGenerator and the self-play
DataModule (see ../shared/DESIGN.md)."""
