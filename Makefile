# Both targets set themselves up on a fresh machine: a virtualenv in .venv, the CPU
# build of torch first (a looser torch spec would pull a multi-GB CUDA build), then
# the project with its dev extras. The stamp file re-runs the install when
# pyproject.toml changes.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.pixelflow-installed

.PHONY: test test-slow train lint

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest

test-slow: $(STAMP)
	$(PY) -m pytest -m slow

train: $(STAMP)
	$(PY) train.py +experiment=unified

lint: $(STAMP)
	$(VENV)/bin/ruff check .
