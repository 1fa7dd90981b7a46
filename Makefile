# Sentinel OTC: `make run` and `make test` are all a new user needs.
# Every install step lives here, so a fresh clone sets itself up.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# ape finds the venv's vyper (and the foundry plugin finds anvil) on PATH.
export PATH := $(CURDIR)/$(VENV)/bin:$(CURDIR)/node_modules/.bin:$(PATH)
export APE_DATA_FOLDER ?= $(CURDIR)/.cache/ape

INVARIANT_STEPS ?= 2000

.PHONY: setup setup-python setup-node setup-browser compile run test test-contracts bench clean

setup: setup-python setup-node

setup-python: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml constraints.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip 'setuptools<81' wheel
	$(PY) -m pip install -q -c constraints.txt -e '.[test]'
	@touch $@

setup-node: node_modules/.installed
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# Debian's Chromium for the browser tests (a downloaded browser build fails here).
setup-browser:
	@test -x /usr/bin/chromium || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

compile: setup
	ape compile

run: setup
	@bash scripts/run_local.sh

test: setup test-contracts

test-contracts: setup
	ape test tests/contracts --invariant-steps $(INVARIANT_STEPS) -q

bench: setup
	python bench/gas.py

clean:
	rm -rf .build .cache run
