# Convenience targets; the scripts are the source of truth.
.PHONY: run test lint format openapi docs

run:
	bash scripts/run

test:
	bash scripts/test

lint:
	.venv/bin/ruff check src tests
	.venv/bin/ruff format --check src tests

format:
	.venv/bin/ruff format src tests
	.venv/bin/ruff check --fix src tests

openapi:
	.venv/bin/tandem openapi -o docs/openapi.json

docs:
	.venv/bin/python scripts/permissions_table.py
	.venv/bin/tandem openapi -o docs/openapi.json
