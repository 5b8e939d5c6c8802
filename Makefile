# Two entry points, both runnable from a fresh clone:
#   make demo   install, then compile and count every bundled spec
#   make test   install with the test tools, then run the whole test suite
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The CPU build of torch, pinned: an unpinned torch pulls a multi-GB CUDA build.
TORCH := torch==2.13.0

.PHONY: demo test install install-dev graphviz lint

$(BIN)/python:
	$(PY) -m venv $(VENV)

install: $(BIN)/python
	$(BIN)/pip install -q $(TORCH) -e '.[train]'

install-dev: $(BIN)/python graphviz
	$(BIN)/pip install -q $(TORCH) -e '.[dev]'

# The real Graphviz `dot`, for `resdsl graph` to SVG/PNG (DOT output works without it).
graphviz:
	@command -v dot >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq graphviz >/dev/null; \
	  else echo "note: Graphviz 'dot' not found; install it (apt-get install graphviz) for SVG/PNG output"; fi; }

demo: install graphviz
	$(BIN)/resdsl check specs/*.res
	$(BIN)/resdsl compile specs/*.res -o generated
	$(BIN)/resdsl stats specs/*.res

test: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -q -n 2

lint: install-dev
	$(BIN)/ruff check . && $(BIN)/ruff format --check .
