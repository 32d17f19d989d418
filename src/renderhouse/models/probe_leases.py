"""The cluster's one active probe per deployment per interval, decided in the database: a row
per deployment holds when it was last probed, and a process may probe only if its
conditional UPDATE (``... WHERE last_probe_at <= now - interval``) changed that row, so two
API processes or two machines never both probe in the same interval, on SQLite and
PostgreSQL alike. The row also keeps the last answer, so every process shows the probe's
result in its health, not only the one that sent it.

On PostgreSQL "now" is the database's clock (one clock for every machine); on SQLite, one
file on one machine, it is the caller's."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Boolean, Column, Connection, Float, String, Table, text

from renderhouse.store.schema import metadata

model_probes = Table(
    "model_probes",
    metadata,
    Column("deployment", String(80), primary_key=True),
    Column("last_probe_at", Float, nullable=False),
    Column("holder", String(64), nullable=False),
    # the last answer (None until the first probe of the row answered)
    Column("result_at", Float),
    Column("ok", Boolean),
    Column("error", String(300)),
    Column("latency_ms", Float),
)

_NOW_POSTGRES = text("SELECT EXTRACT(EPOCH FROM clock_timestamp())::float8")
_FIRST = text(
    "INSERT INTO model_probes (deployment, last_probe_at, holder) "
    "VALUES (:deployment, :now, :holder) ON CONFLICT (deployment) DO NOTHING "
    "RETURNING deployment"
)
_TAKE = text(
    "UPDATE model_probes SET last_probe_at = :now, holder = :holder "
    "WHERE deployment = :deployment AND last_probe_at <= :due"
)
_RESULT = text(
    "UPDATE model_probes SET result_at = :at, ok = :ok, error = :error, "
    "latency_ms = :latency_ms WHERE deployment = :deployment AND holder = :holder"
)
_READ = text(
    "SELECT deployment, result_at, ok, error, latency_ms FROM model_probes "
    "WHERE result_at IS NOT NULL"
)


@dataclass(frozen=True)
class ProbeResult:
    deployment: str
    at: float
    ok: bool
    error: str | None
    latency: float | None
    """Seconds."""


def now(conn: Connection) -> float:
    """The clock leases are taken on (see the module doc)."""
    if conn.dialect.name == "postgresql":
        return float(conn.execute(_NOW_POSTGRES).scalar_one())
    return time.time()


def claim(conn: Connection, deployment: str, interval: float, holder: str) -> float | None:
    """Take the deployment's probe for this interval: the lease's time if this caller may
    probe now, None if another process probed less than ``interval`` seconds ago."""
    at = now(conn)
    params = {"deployment": deployment, "now": at, "holder": holder[:64]}
    if conn.execute(_FIRST, params).first() is not None:
        return at
    if conn.execute(_TAKE, {**params, "due": at - interval}).rowcount == 1:
        return at
    return None


def record(
    conn: Connection,
    deployment: str,
    holder: str,
    *,
    at: float,
    ok: bool,
    error: str | None,
    latency: float | None,
) -> None:
    """The holder's answer, for every process to read (a later holder's lease wins)."""
    conn.execute(
        _RESULT,
        {
            "deployment": deployment,
            "holder": holder[:64],
            "at": at,
            "ok": ok,
            "error": None if error is None else error[:300],
            "latency_ms": None if latency is None else latency * 1000,
        },
    )


def results(conn: Connection) -> dict[str, ProbeResult]:
    """The last answer of every deployment probed so far."""
    return {
        r.deployment: ProbeResult(
            r.deployment,
            float(r.result_at),
            bool(r.ok),
            r.error,
            None if r.latency_ms is None else float(r.latency_ms) / 1000,
        )
        for r in conn.execute(_READ)
    }
