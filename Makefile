# qbank: two commands do everything on a fresh Debian/Ubuntu machine.
#   make exam   set up (.venv, TeX Live if missing), then build the demo exam into build/demo/
#   make test   same set-up, then run the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.qbank-installed
VERSIONS ?= 3

.PHONY: help setup system exam test check bench clean
.DEFAULT_GOAL := help

help:
	@echo "make exam    build the demo exam (bank/exams/demo.yaml, $(VERSIONS) versions) into build/demo/"
	@echo "make test    run the test suite (sets everything up first)"
	@echo "make check   draw, verify and render every family over 200 seeds"
	@echo "make bench   speed figures (bench/bench.py; about 15 minutes on 2 cores)"
	@echo "make clean   remove build/ (keeps .venv)"

system:
	@scripts/ensure-system-deps

$(STAMP): pyproject.toml
	@$(MAKE) --no-print-directory system
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

setup: system $(STAMP)

exam: setup
	$(BIN)/qbank exam bank/exams/demo.yaml --versions $(VERSIONS) --out build/demo

test: setup
	$(BIN)/python -m pytest -q

check: setup
	$(BIN)/qbank check --seeds 200

bench: setup
	$(BIN)/python bench/bench.py

clean:
	rm -rf build
