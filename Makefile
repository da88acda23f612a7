# Convenience targets; the scripts are the source of truth.
.PHONY: run test lint format openapi docs

run:
	bash scripts/run

test:
	bash scripts/test

lint:
	.venv/bin/ruff check src tests agent
	.venv/bin/ruff format --check src tests agent

format:
	.venv/bin/ruff format src tests agent
	.venv/bin/ruff check --fix src tests agent

openapi:
	.venv/bin/tandem openapi -o docs/openapi.json

docs:
	.venv/bin/python scripts/permissions_table.py
	.venv/bin/tandem openapi -o docs/openapi.json
