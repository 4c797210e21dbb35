# rulebank: build, test and run. `make` alone lists the targets.
#
# Every target that runs project code first makes sure .venv exists and holds the project
# (`pip install -e '.[dev]'`). The stamp .venv/.installed is newer than pyproject.toml once
# that is done, so a second run skips pip; editing pyproject.toml reinstalls.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RULEBANK := $(BIN)/rulebank
RULESETS := rulesets

.PHONY: help install test lint fmt run bench clean distclean

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

install: $(STAMP) ## create .venv and install the project with its dev tools

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

# `python -m pytest` puts the repo root on sys.path: tests/dsl and tests/cli (folders without
# __init__.py on pytest's path) would otherwise shadow the real `dsl` and `cli` packages.
test: $(STAMP) ## ruff check, then the whole pytest suite (its exit code decides)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -p no:cacheprovider

lint: $(STAMP) ## ruff check and format check; rule files checked and format-checked
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(RULEBANK) check $(RULESETS)
	$(RULEBANK) fmt --check $(RULESETS)

fmt: $(STAMP) ## ruff format the code, rulebank fmt the rule files
	$(BIN)/ruff format .
	$(RULEBANK) fmt $(RULESETS)

# `rulebank run` is the whole product on embedded defaults: the Temporal dev server (state in
# .rulebank/), demo data and rulesets through review, a worker and the API; Ctrl-C stops it all.
# Ports: RULEBANK_API__PORT, RULEBANK_TEMPORAL_ADDRESS, RULEBANK_TEMPORAL__UI_PORT.
run: $(STAMP) ## check the rulesets, then run everything embedded (Temporal, worker, API, demo)
	$(RULEBANK) check $(RULESETS)
	$(RULEBANK) run

bench: $(STAMP) ## run every bench/*.py
	@set -e; for script in bench/*.py; do \
	  [ -e "$$script" ] || continue; \
	  echo "== $$script"; \
	  $(BIN)/python "$$script"; \
	done

clean: ## remove caches and build output (keeps .venv and runtime state)
	rm -rf build dist .pytest_cache .ruff_cache .hypothesis *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean ## clean, and remove .venv too
	rm -rf $(VENV)
