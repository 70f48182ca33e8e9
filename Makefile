# Two commands for a fresh machine: `make run` (set up, build, serve on SQLite) and
# `make test` (set up, build, run every test). Both are idempotent.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test install frontend test-py test-js bench soak clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml setup.cfg setup.py
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

frontend/node_modules/.installed: frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund
	touch $@

frontend: frontend/node_modules/.installed
	cd frontend && npm run --silent build

# the benchmark's Node.js load driver (tests/test_bench_smoke.py runs it briefly)
bench/driver/node_modules/.installed: bench/driver/package.json bench/driver/package-lock.json
	cd bench/driver && npm ci --no-audit --no-fund
	touch $@

run: install frontend
	$(BIN)/python run.py --host $(HOST) --port $(PORT)

test-py: install frontend bench/driver/node_modules/.installed
	$(BIN)/python -m pytest

test-js: frontend
	cd frontend && npm test --silent

test: test-js test-py

bench: install frontend bench/driver/node_modules/.installed
	$(BIN)/python -c 'import matplotlib' 2>/dev/null || $(BIN)/pip install --quiet matplotlib
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) frontend/node_modules frontend/dist

# long fault runs (kill -9 x 20 on SQLite and PostgreSQL, event-loop stall, memory): docs/reliability.md
soak: install
	$(BIN)/python -m bench.soak
