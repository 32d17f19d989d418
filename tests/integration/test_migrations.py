"""Migrations build exactly the schema the code declares, on both databases, and the
start-up check refuses an old schema with the command to run."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from renderhouse.errors import SchemaOutdated
from renderhouse.store.database import Store
from renderhouse.store.migrate import current_revision, ensure_current, head_revision, upgrade
from renderhouse.store.schema import metadata


def test_migrations_match_the_declared_schema(store: Store) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == [], f"schema.py and the migrations differ: {diff}"
    assert current_revision(store) == head_revision()


def test_old_schema_is_refused_with_the_fix(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'old.db'}")
    with pytest.raises(SchemaOutdated, match="renderhouse db upgrade"):
        ensure_current(store)
    upgrade(store, "0001")
    if head_revision() != "0001":
        with pytest.raises(SchemaOutdated, match="renderhouse db upgrade"):
            ensure_current(store)
    upgrade(store)
    ensure_current(store)
    store.dispose()
