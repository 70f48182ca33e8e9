# Two commands for a fresh machine: `make run` (set up, build, serve on SQLite) and
# `make test` (set up, build, run every test). Both are idempotent. For developers, `make
# check`: the pure and in-process Python tests (no server process, no browser, none marked
# slow), in under a minute.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test check install frontend test-py test-js bench soak clean

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

# the benchmark's Node.js load driver (tests/e2e/test_bench_smoke.py runs it briefly)
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

# The fuzzers run 100 cases each instead of 700 (make test runs them whole); tests/conftest.py
# says which tests are e2e or slow and why. The tests' folders (their SQLite files) go to
# tmpfs where there is one: on a busy disk the fsync of every commit made the same tests
# take 85 s instead of 30 (make test keeps them on the disk). JavaScript: make test-js.
check: install
	@tmp=$$(mktemp -d /dev/shm/collab-check-XXXXXX 2>/dev/null || mktemp -d); \
	COLLAB_FUZZ_EXAMPLES=100 $(BIN)/python -m pytest -q -m "not e2e and not slow" --basetemp="$$tmp/t"; \
	status=$$?; rm -rf "$$tmp"; exit $$status

bench: install frontend bench/driver/node_modules/.installed
	$(BIN)/python -c 'import matplotlib' 2>/dev/null || $(BIN)/pip install --quiet matplotlib
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) frontend/node_modules frontend/dist

# long fault runs (kill -9 x 20 on SQLite and PostgreSQL, event-loop stall, memory): docs/reliability.md
soak: install
	$(BIN)/python -m bench.soak
