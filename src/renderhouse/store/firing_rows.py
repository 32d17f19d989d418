"""The statements on ``alerts_firing``, the alerts every evaluating process shares
(``ops/firing.py`` decides what starts and resolves; this module only reads and writes)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, delete, or_, select, update

from renderhouse.store.dialect import upsert_insert
from renderhouse.store.schema import alerts_firing


def all_rows(conn: Connection) -> list[Any]:
    """Every firing alert's row, oldest first."""
    return list(conn.execute(select(alerts_firing).order_by(alerts_firing.c.started_at)).all())


def keys(conn: Connection) -> set[str]:
    return set(conn.execute(select(alerts_firing.c.key)).scalars())


def refresh(conn: Connection, key: str, data: str, now: float) -> None:
    """A known alert evaluated again: its latest data and time."""
    conn.execute(
        update(alerts_firing).where(alerts_firing.c.key == key).values(data=data, updated_at=now)
    )


def insert_new(conn: Connection, key: str, values: dict[str, Any], now: float) -> bool:
    """Start an alert; False when another process started it first (nothing written)."""
    row = conn.execute(
        upsert_insert(conn, alerts_firing)
        .values(key=key, **values, started_at=now, updated_at=now)
        .on_conflict_do_nothing()
        .returning(alerts_firing.c.key)
    ).first()
    return row is not None


def delete_resolved(
    conn: Connection,
    keep: set[str],
    host: str | None,
    cluster: bool,
    stale_before: float,
) -> list[str]:
    """Delete the alerts this evaluation covers (cluster ones if ``cluster``, ``host``'s
    own, and any machine's not confirmed since ``stale_before``) except those in ``keep``;
    returns the deleted rows' data, each deleted by exactly one process."""
    c = alerts_firing.c
    covered = [and_(c.host.is_not(None), c.updated_at < stale_before)]
    if cluster:
        covered.append(c.host.is_(None))
    if host:
        covered.append(c.host == host)
    stmt = delete(alerts_firing).where(or_(*covered))
    if keep:
        stmt = stmt.where(c.key.not_in(keep))
    return [str(data) for data in conn.execute(stmt.returning(c.data)).scalars().all()]
