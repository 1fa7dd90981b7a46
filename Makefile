# Sentinel OTC: `make run` and `make test` are all a new user needs.
# Every install step lives here, so a fresh clone sets itself up.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# ape finds the venv's vyper (and the foundry plugin finds anvil) on PATH.
export PATH := $(CURDIR)/$(VENV)/bin:$(CURDIR)/node_modules/.bin:$(PATH)
export APE_DATA_FOLDER ?= $(CURDIR)/.cache/ape

INVARIANT_STEPS ?= 2000

.PHONY: setup setup-python setup-node setup-browser setup-bench setup-db compile run lint typecheck test test-contracts test-backend test-e2e screenshots bench clean

setup: setup-python setup-node

setup-python: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml constraints.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip 'setuptools<81' wheel
	$(PY) -m pip install -q -c constraints.txt -e '.[test]'
	# face_recognition without its dlib requirement (dlib-bin, a prebuilt wheel, provides
	# the module): `pip install face-recognition` would compile dlib for 15+ minutes.
	$(PY) -m pip install -q --no-deps -c constraints.txt face-recognition==1.3.0
	$(PY) -c 'import face_recognition'
	@touch $@

setup-node: node_modules/.installed frontend/vendor/ethers.min.js
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The frontend imports ethers as an ES module from frontend/vendor/ (git-ignored).
frontend/vendor/ethers.min.js: node_modules/.installed
	@mkdir -p frontend/vendor
	cp node_modules/ethers/dist/ethers.min.js $@

# Debian's Chromium for the browser tests (a downloaded browser build fails here), and a
# CJK font so that the Simplified Chinese pages render (and their screenshots show text).
BROWSER_PACKAGES := chromium fonts-wqy-microhei
setup-browser:
	@dpkg -s $(BROWSER_PACKAGES) >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq $(BROWSER_PACKAGES) >/dev/null; }

compile: setup
	ape compile

run: setup
	@bash scripts/run_local.sh

# ruff's lint and format check first: a suite run is no place to find a syntax slip.
lint: setup
	ruff check .
	ruff format --check .

# The frontend against the API's schema: types generated from the app's own OpenAPI document
# (types/openapi.d.ts, git-ignored: regenerated on every run, so never stale), then tsc over
# frontend/js (tsconfig.json): a page may read only the fields a response declares.
typecheck: setup frontend/vendor/ethers.min.d.ts
	@mkdir -p .cache
	python -m scripts.openapi > .cache/openapi.json
	openapi-typescript .cache/openapi.json --output types/openapi.d.ts
	tsc -p tsconfig.json

# The pages import ethers from frontend/vendor/; tsc finds its types through this stub.
frontend/vendor/ethers.min.d.ts:
	@mkdir -p frontend/vendor
	echo 'export * from "ethers";' > $@

# Three pytest runs: each suite has its own conftest (and ape starts its own Anvil). The
# contract and backend suites share nothing but the compiled contracts (compiled first) and
# each keeps about one core busy, so they run side by side on a 2-core machine; the contract
# suite's output follows the backend's. The browser suite runs alone (Chromium wants both).
test: setup setup-browser setup-db lint typecheck compile
	node --test tests/js/
	@mkdir -p .cache
	@echo "ape test tests/contracts --invariant-steps $(INVARIANT_STEPS) -q  (beside the backend suite)"
	@ape test tests/contracts --invariant-steps $(INVARIANT_STEPS) -q > .cache/test-contracts.log 2>&1 & contracts=$$!; \
	ape test tests/backend -q; backend=$$?; \
	wait $$contracts; contracts_status=$$?; \
	echo "--- contract suite:"; cat .cache/test-contracts.log; \
	test $$backend -eq 0 -a $$contracts_status -eq 0
	ape test tests/e2e -q

# The frontend's pure modules (number parsing) under Node's own test runner.
test-js:
	node --test tests/js/

test-contracts: setup
	ape test tests/contracts --invariant-steps $(INVARIANT_STEPS) -q

test-backend: setup setup-db
	ape test tests/backend -q

# Browser journeys: Playwright drives Debian's Chromium against a real backend and Anvil.
test-e2e: setup setup-browser
	ape test tests/e2e -q

# The same journeys, rewriting the committed shots in tests/e2e/screenshots (the README's).
screenshots: setup setup-browser
	SENTINEL_SCREENSHOTS=1 ape test tests/e2e -q

# Debian's PostgreSQL: the backend suite also runs on a throwaway PostgreSQL server.
setup-db:
	@test -x /usr/lib/postgresql/*/bin/initdb 2>/dev/null || { apt-get update -qq && apt-get install -y -qq postgresql >/dev/null; }

# wrk (C) drives the API benchmark: a Python load generator would need the CPU it measures.
setup-bench:
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

bench: setup setup-bench setup-db setup-browser
	python -m bench.gas
	python -m bench.indexer
	python -m bench.api
	python -m bench.nodes
	python -m bench.ledger
	python -m bench.kyc
	python -m bench.monitoring
	# Lighthouse (npm devDependency) on Debian's Chromium: the market and explorer pages on a phone.
	python -m bench.web

clean:
	rm -rf .build .cache run
