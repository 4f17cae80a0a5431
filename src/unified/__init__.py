"""The top layer: the unified self-play loop (``loop.py``: the data module, the actor,
the critic, loggers and callbacks in one Lightning run), the guided search and the
baselines (``search.py``) that ``optimize.py`` and ``evaluate.py`` run, and shipping a
trained actor as the guide (``ship.py``). It is the one package that may import every
other."""
