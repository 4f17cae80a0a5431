"""Data: the FPCore corpus and BwdGenerator; later the trajectory schemas and the
self-play DataModule (see ../shared/DESIGN.md)."""
