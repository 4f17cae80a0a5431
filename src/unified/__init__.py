"""The unified self-play loop: the wiring of the self-play data module, the actor, the
critic, loggers and callbacks into one Lightning run (``train.py`` calls ``train``).
It is the one package that may import every other."""
