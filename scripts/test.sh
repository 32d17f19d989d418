#!/usr/bin/env bash
# What CI runs: lint, format check, type check of the core, then every test with warnings as
# errors, on SQLite and PostgreSQL (127.0.0.1:5432; RENDERHOUSE_TEST_POSTGRES_URL overrides).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/pytest ] || bash scripts/install.sh --dev
.venv/bin/ruff check src tests benchmarks examples
.venv/bin/ruff format --check src tests benchmarks examples
.venv/bin/mypy
.venv/bin/python -m pytest -W error "$@"
