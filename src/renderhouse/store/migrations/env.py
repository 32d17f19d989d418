"""Alembic environment: runs on the connection ``renderhouse.store.migrate`` hands it."""

from alembic import context

import renderhouse.store.schema_auth
import renderhouse.store.schema_calendars
import renderhouse.store.schema_canons
import renderhouse.store.schema_ledger
import renderhouse.store.schema_pose  # noqa: F401  (registers its tables on metadata)
from renderhouse.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
