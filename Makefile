# Two commands for a fresh machine: `make run` (set up, build, serve on SQLite) and
# `make test` (set up, build, run every test). Both are idempotent.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test install frontend test-py test-js bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python setup.cfg setup.py
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

frontend/node_modules/.installed: frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund
	touch $@

frontend: frontend/node_modules/.installed
	cd frontend && npm run --silent build

run: install frontend
	$(BIN)/python run.py --host $(HOST) --port $(PORT)

test-py: install frontend
	$(BIN)/python -m pytest

test-js: frontend
	cd frontend && npm test --silent

test: test-js test-py

bench: install frontend
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) frontend/node_modules frontend/dist
