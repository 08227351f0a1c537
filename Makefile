# The README's two commands: `make demo` (the main job) and `make test` (the checks CI runs).
SHELL := /bin/bash
VENV := .venv/bin
.DEFAULT_GOAL := help

.PHONY: help bootstrap demo test lint typecheck pytest docs

help:
	@echo "make demo  - install, then run the end-to-end demo on the built-in synthetic dataset"
	@echo "make test  - install, then ruff, mypy --strict and pytest"

bootstrap:
	@./tools/bootstrap.sh

demo: bootstrap
	$(VENV)/autotsnet demo --out runs/demo

test: bootstrap lint typecheck pytest

lint:
	$(VENV)/ruff check .
	$(VENV)/ruff format --check .

typecheck:
	$(VENV)/mypy

pytest:
	$(VENV)/pytest -q -p no:cacheprovider --durations=15
