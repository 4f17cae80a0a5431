"""Data: the FPCore corpus, BwdGenerator, and the trajectory payloads with their JSONL
files (``schema``); later the self-play DataModule (see ../shared/DESIGN.md)."""
