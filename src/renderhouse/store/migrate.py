"""Schema migrations (Alembic, scripts in ``store/migrations``) and the start-up check
that refuses to run on an old schema."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from renderhouse.errors import SchemaOutdated
from renderhouse.store.database import Store

SCRIPT_LOCATION = "renderhouse.store:migrations"


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", SCRIPT_LOCATION)
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(store: Store) -> str | None:
    with store.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(store: Store, revision: str = "head") -> None:
    cfg = _config()
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def ensure_current(store: Store) -> None:
    current, head = current_revision(store), head_revision()
    if current != head:
        state = "has no Renderhouse schema" if current is None else f"is at revision {current}"
        raise SchemaOutdated(
            f"the database {state}; the code needs {head}. Run `renderhouse db upgrade` first.",
            details={"current": current, "head": head},
        )
