"""Tables of stored brand canons: one row per canon (its current version) and every version
it has had, so a job that named ``canon:<id>@<n>`` can always be traced to the exact canon
it ran with. Rows are owner-scoped; a version's content is the canon JSON, read whole."""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, PrimaryKeyConstraint, String, Table, Text

from renderhouse.store.schema import metadata

canons = Table(
    "canons",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("owner", String(64), nullable=False),
    Column("name", String(120), nullable=False),
    Column("version", Integer, nullable=False),  # the current one
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)
Index("ix_canons_owner", canons.c.owner, canons.c.id)

canon_versions = Table(
    "canon_versions",
    metadata,
    Column("canon_id", String(32), nullable=False),
    Column("version", Integer, nullable=False),
    Column("owner", String(64), nullable=False),
    Column("content", Text, nullable=False),  # the canon JSON as validated
    Column("sha256", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
    PrimaryKeyConstraint("canon_id", "version", name="pk_canon_versions"),
)
