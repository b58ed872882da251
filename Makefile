# The two commands a newcomer needs are `make run` and `make test` (see README).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip

.PHONY: run test lint typecheck pytest bench install-run install-dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.run-installed: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e '.[server]'
	touch $@

# torch is pinned to the CPU wheel first so no other requirement can pull a CUDA build.
$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet 'torch==2.13.0'
	$(PIP) install --quiet -e '.[all,dev]'
	touch $@

install-run: $(VENV)/.run-installed
install-dev: $(VENV)/.dev-installed

run: install-run
	$(BIN)/crlhf serve

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy crlhf server client_tui lsp_server

pytest: install-dev
	$(BIN)/pytest

test: lint pytest

bench: install-dev
	$(BIN)/python benchmarks/aggregation_quality.py
	$(BIN)/python benchmarks/aggregation_speed.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
