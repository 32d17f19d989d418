"""The SQL store: one schema (SQLAlchemy Core + Alembic) for SQLite and PostgreSQL."""
