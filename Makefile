# Two entry points, both runnable from a fresh clone:
#   make demo   install, then compile and count every bundled spec
#   make test   install with the test tools, then run the whole test suite
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The CPU build of torch, pinned: an unpinned torch pulls a multi-GB CUDA build.
TORCH := torch==2.13.0

# The VS Code extension (its TextMate grammar is tested with npm's vscode-tmgrammar-test).
VSCODE := editors/vscode

.PHONY: demo test install install-dev graphviz lint

$(BIN)/python:
	$(PY) -m venv $(VENV)

install: $(BIN)/python
	$(BIN)/pip install -q $(TORCH) -e '.[train]'

install-dev: $(BIN)/python graphviz $(VSCODE)/node_modules/.package-lock.json
	$(BIN)/pip install -q $(TORCH) -e '.[dev]'

# The VS Code extension's npm packages, for the TextMate grammar's scope tests
# (tests/editors/test_vscode.py, which fails without Node.js: it is part of the suite).
$(VSCODE)/node_modules/.package-lock.json: $(VSCODE)/package.json $(VSCODE)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  cd $(VSCODE) && npm ci --no-audit --no-fund --loglevel=error; \
	else echo "note: npm not found; install Node.js for the editor tests (tests/editors)"; fi

# The real Graphviz `dot`, for `resdsl graph` to SVG/PNG (DOT output works without it).
graphviz:
	@command -v dot >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq graphviz >/dev/null; \
	  else echo "note: Graphviz 'dot' not found; install it (apt-get install graphviz) for SVG/PNG output"; fi; }

demo: install graphviz
	$(BIN)/resdsl check specs/*.res specs/zoo/*.res
	$(BIN)/resdsl compile specs/*.res -o generated
	for spec in specs/zoo/*.res; do \
	  $(BIN)/resdsl compile $$spec -o generated/zoo/$$(basename $$spec .res) >/dev/null || exit 1; \
	done
	$(BIN)/resdsl stats specs/*.res

test: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -q -n 2

lint: install-dev
	$(BIN)/ruff check . && $(BIN)/ruff format --check .
	$(BIN)/resdsl fmt --check specs/ tests/golden/language resdsl/lang/prelude.res
