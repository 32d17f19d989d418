"""Calendar connections, owner-scoped: another user's id answers 404 as an unknown one.
The SQL on ``calendar_connections`` lives here; the secret column is written sealed and
read back only by ``credentials`` (for sync jobs), never into a response."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from renderhouse.calendars import sealing
from renderhouse.errors import Conflict, InvalidInput, NotFound
from renderhouse.store.schema_calendars import calendar_connections as table

CONNECTION_ID = r"^cal_[0-9a-f]{24}$"
MAX_PER_OWNER = 50
KINDS = ("caldav", "google")


def new_id() -> str:
    return "cal_" + secrets.token_hex(12)


@dataclass(frozen=True)
class CalendarConnection:
    id: str
    owner: str
    kind: str
    name: str
    calendar: str
    url: str | None
    username: str | None
    created_at: float
    updated_at: float


@dataclass(frozen=True)
class Credentials:
    """What a sync job needs: the connection and its unsealed secret."""

    connection: CalendarConnection
    secret: str


def _row(r: Any) -> CalendarConnection:
    m = r._mapping
    return CalendarConnection(
        m["id"], m["owner"], m["kind"], m["name"], m["calendar"], m["url"], m["username"],
        m["created_at"], m["updated_at"],
    )  # fmt: skip


_COLUMNS = [c for c in table.c if c.name != "secret"]


def create(
    conn: Connection, secret_key: str, *, owner: str, kind: str, name: str, calendar: str,
    secret: str, url: str | None = None, username: str | None = None,
    connection_id: str | None = None,
) -> CalendarConnection:  # fmt: skip
    """``connection_id`` is chosen by the caller for Google (the OAuth state's nonce), so a
    replayed callback finds its id taken (409) instead of connecting twice."""
    if kind not in KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)}", details={"field": "kind"})
    count = conn.execute(select(func.count()).select_from(table).where(table.c.owner == owner))
    if int(count.scalar_one()) >= MAX_PER_OWNER:
        raise Conflict(
            f"you have {MAX_PER_OWNER} calendar connections, the most allowed; delete one first",
            code="too_many_calendars",
        )
    cid = connection_id or new_id()
    now = time.time()
    values = {
        "id": cid, "owner": owner, "kind": kind, "name": name, "calendar": calendar,
        "url": url, "username": username, "secret": sealing.seal(secret_key, cid, secret),
        "created_at": now, "updated_at": now,
    }  # fmt: skip
    refuse_taken(conn, cid)
    try:
        conn.execute(insert(table).values(**values))
    except IntegrityError as exc:  # a concurrent callback won; this transaction ends here
        raise _used() from exc
    return _row(conn.execute(select(*_COLUMNS).where(table.c.id == cid)).one())


def refuse_taken(conn: Connection, connection_id: str) -> None:
    """Before a Google code is exchanged: its flow's id must still be free (one use)."""
    if conn.execute(select(table.c.id).where(table.c.id == connection_id)).first() is not None:
        raise _used()


def _used() -> Conflict:
    return Conflict(
        "this authorisation was already used to connect a calendar; start again from "
        "POST /v1/calendars/google/authorize",
        code="oauth_state_used",
    )


def listing(conn: Connection, owner: str) -> list[CalendarConnection]:
    rows = conn.execute(
        select(*_COLUMNS).where(table.c.owner == owner).order_by(table.c.created_at, table.c.id)
    )
    return [_row(r) for r in rows]


def get(conn: Connection, owner: str, connection_id: str) -> CalendarConnection:
    row = conn.execute(
        select(*_COLUMNS).where(table.c.id == connection_id, table.c.owner == owner)
    ).first()
    if row is None:
        raise NotFound(
            f"no calendar connection {connection_id!r}", details={"calendar": connection_id}
        )
    return _row(row)


def remove(conn: Connection, owner: str, connection_id: str) -> None:
    gone = conn.execute(
        delete(table).where(table.c.id == connection_id, table.c.owner == owner)
    ).rowcount
    if not gone:
        raise NotFound(
            f"no calendar connection {connection_id!r}", details={"calendar": connection_id}
        )


def credentials(conn: Connection, secret_key: str, owner: str, connection_id: str) -> Credentials:
    row = conn.execute(
        select(table).where(table.c.id == connection_id, table.c.owner == owner)
    ).first()
    if row is None:
        raise NotFound(
            f"the calendar connection {connection_id!r} was deleted",
            code="calendar_gone", details={"calendar": connection_id},
        )  # fmt: skip
    return Credentials(_row(row), sealing.unseal(secret_key, connection_id, row._mapping["secret"]))


def replace_secret(conn: Connection, secret_key: str, connection_id: str, secret: str) -> None:
    """A provider rotated the secret (Google may return a new refresh token)."""
    conn.execute(
        update(table)
        .where(table.c.id == connection_id)
        .values(secret=sealing.seal(secret_key, connection_id, secret), updated_at=time.time())
    )
