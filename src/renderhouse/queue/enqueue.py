"""Putting jobs on the queue, in the caller's transaction when it has one."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, Row, TextClause, select, text, tuple_

from renderhouse.errors import InvalidInput
from renderhouse.queue import events
from renderhouse.queue.jobs import QUEUED, Job, new_job_id
from renderhouse.store.dialect import Dialect, upsert_insert
from renderhouse.store.schema import jobs, owner_lanes

MAX_PRIORITY = 100


@dataclass(frozen=True)
class NewJob:
    kind: str
    input: dict[str, Any]
    owner: str = "system"
    priority: int = 0
    run_at: float | None = None
    max_attempts: int = 3
    timeout: float = 600.0
    idempotency_key: str | None = None
    parent_id: str | None = None
    webhook_url: str | None = None
    cost_estimated: int = 0
    cost_reserved: int = 0
    id: str = field(default_factory=new_job_id)

    def __post_init__(self) -> None:
        if not 0 <= self.priority <= MAX_PRIORITY:
            raise InvalidInput(
                f"priority must be between 0 and {MAX_PRIORITY} (higher runs first)",
                details={"field": "priority", "value": self.priority},
            )
        if self.max_attempts < 1:
            raise InvalidInput("max_attempts must be at least 1", details={"field": "max_attempts"})
        if self.timeout <= 0:
            raise InvalidInput("timeout must be positive", details={"field": "timeout"})


@dataclass(frozen=True)
class Gate:
    """Work that must commit with a job's insert or stop it: the ledger's reservation.

    ``cte`` is its PostgreSQL form, data-modifying CTEs whose last one is named ``gate`` and
    yields a row when the job is admitted, so the common enqueue stays one statement (the
    job row is selected ``FROM lane, gate``). ``apply`` does the same as statements on every
    other path (SQLite, batches, idempotency keys), after the insert and in its transaction.
    ``refused`` builds the error raised when the gate yields nothing. Parameter names in
    ``cte`` start with ``gate_`` so they never meet the job's own."""

    cte: str
    params: dict[str, Any]
    apply: Callable[[Connection], None]
    refused: Callable[[Connection], Exception]


GateFor = Callable[[NewJob], Gate | None]


FAIR_QUANTUM_MS = 1000
"""Virtual time one job costs its owner: an owner's backlog is spread one quantum apart."""


def fair_keys(conn: Connection, dialect: Dialect, owner: str, n: int, now: float) -> int:
    """Reserve ``n`` consecutive fair-queueing keys for ``owner``; return the first.

    Virtual Clock scheduling (L. Zhang, "VirtualClock", SIGCOMM 1990): each owner's clock
    advances by one quantum per job and never lags real time, ``key = max(owner's clock,
    now)``. Claims order by key within a priority, so a newcomer's job is queued next to
    "now" rather than behind another owner's whole backlog; it waits behind at most one job
    per quantum of time that backlog has been waiting. One row write per enqueue, no scan.
    """
    now_ms = int(now * 1000)
    span = n * FAIR_QUANTUM_MS
    stmt = upsert_insert(conn, owner_lanes).values(owner=owner, next_key=now_ms + span)
    stmt = stmt.on_conflict_do_update(
        index_elements=[owner_lanes.c.owner],
        set_={"next_key": dialect.greatest(owner_lanes.c.next_key, now_ms) + span},
    ).returning(owner_lanes.c.next_key)
    next_key: int = conn.execute(stmt).scalar_one()
    return next_key - span


def insert_jobs(
    conn: Connection,
    dialect: Dialect,
    new_jobs: list[NewJob],
    now: float,
    gate_for: GateFor | None = None,
) -> list[tuple[Job, bool]]:
    """Insert jobs (all the same owner or not); returns (job, created) in order. A job whose
    (owner, idempotency key) already exists is returned as it is, never inserted twice.
    ``gate_for`` gives the gate each created job must pass (see ``Gate``)."""
    if len(new_jobs) == 1 and dialect.name == "postgresql":
        nj = new_jobs[0]
        gate = gate_for(nj) if gate_for else None
        if nj.idempotency_key is not None:
            return [_insert_keyed_postgres(conn, dialect, nj, now, gate)]
        job = _insert_one_postgres(conn, nj, now, gate)
        dialect.notify(conn, nj.kind)
        return [(job, True)]
    out = _insert_many(conn, dialect, new_jobs, now)
    for nj, (_, created) in zip(new_jobs, out, strict=True):
        gate = gate_for(nj) if created and gate_for is not None else None
        if gate is not None:
            gate.apply(conn)
    return out


def _insert_many(
    conn: Connection, dialect: Dialect, new_jobs: list[NewJob], now: float
) -> list[tuple[Job, bool]]:
    results: list[tuple[Job, bool] | None] = [None] * len(new_jobs)
    pending: list[tuple[int, NewJob]] = []
    replays = by_keys(conn, [k for k in map(key_of, new_jobs) if k is not None])
    for i, nj in enumerate(new_jobs):
        key = key_of(nj)
        if key is not None and key in replays:
            results[i] = (replays[key], False)
            continue
        pending.append((i, nj))
    by_owner: dict[str, list[tuple[int, NewJob]]] = {}
    for item in pending:
        by_owner.setdefault(item[1].owner, []).append(item)
    state_events: list[tuple[str, str, dict[str, Any]]] = []
    for owner, items in by_owner.items():
        first = fair_keys(conn, dialect, owner, len(items), now)
        rows = [_row(nj, first + k * FAIR_QUANTUM_MS, now) for k, (_, nj) in enumerate(items)]
        keyed = [r for r in rows if r["idempotency_key"] is not None]
        plain = [r for r in rows if r["idempotency_key"] is None]
        if plain:
            conn.execute(jobs.insert(), plain)
        for row in keyed:
            stmt = (
                upsert_insert(conn, jobs)
                .values(**row)
                .on_conflict_do_nothing(index_elements=[jobs.c.owner, jobs.c.idempotency_key])
            )
            conn.execute(stmt)
        for (i, nj), row in zip(items, rows, strict=True):
            if nj.idempotency_key is None:
                job, created = _job_from_row_values(row), True
            else:
                found = by_key(conn, owner, nj.idempotency_key)
                assert found is not None
                job, created = found, found.id == nj.id
            results[i] = (job, created)
            if created:
                state_events.append((job.id, "state", {"state": QUEUED}))
    events.record_many(conn, state_events, now, notify=False)
    for kind in sorted({nj.kind for _, nj in pending}):
        dialect.notify(conn, kind)
    return [r for r in results if r is not None]


_JOB_COLUMNS = (
    "id",
    "kind",
    "owner",
    "input",
    "state",
    "priority",
    "run_at",
    "attempt",
    "snoozes",
    "max_attempts",
    "timeout",
    "cancel_requested",
    "progress_done",
    "progress_total",
    "progress_message",
    "idempotency_key",
    "parent_id",
    "webhook_url",
    "cost_estimated",
    "cost_reserved",
    "created_at",
    "updated_at",
)
_INSERT_ONE_POSTGRES = """
    WITH {gate}lane AS (
        INSERT INTO owner_lanes (owner, next_key) VALUES (:owner, :now_ms + :quantum)
        ON CONFLICT (owner)
        DO UPDATE SET next_key = greatest(owner_lanes.next_key, :now_ms) + :quantum
        RETURNING next_key
    ), job AS (
        INSERT INTO jobs ({columns}, fair_key)
        SELECT {values}, lane.next_key - :quantum FROM lane{gated}{conflict}
        RETURNING id, fair_key
    ), event AS (
        INSERT INTO job_events (job_id, ts, type, data)
        SELECT id, :created_at, 'state', :event FROM job
    )
    SELECT fair_key FROM job
    """
_ON_KEY_CONFLICT = "\n        ON CONFLICT (owner, idempotency_key) DO NOTHING"
_STATEMENTS: dict[tuple[str | None, bool], TextClause] = {}


def _one_statement(gate_cte: str | None, keyed: bool) -> TextClause:
    """The single-statement enqueue, with a gate's CTEs when there is one (built once per
    distinct gate text: gates are module constants, so this stays a handful of entries)."""
    stmt = _STATEMENTS.get((gate_cte, keyed))
    if stmt is None:
        sql = _INSERT_ONE_POSTGRES.format(
            gate=f"{gate_cte}, " if gate_cte else "",
            gated=", gate" if gate_cte else "",
            conflict=_ON_KEY_CONFLICT if keyed else "",
            columns=", ".join(_JOB_COLUMNS),
            values=", ".join(":" + c for c in _JOB_COLUMNS),
        )
        stmt = _STATEMENTS[(gate_cte, keyed)] = text(sql)
    return stmt


def postgres_plan(nj: NewJob, now: float, gate: Gate | None) -> tuple[TextClause, dict[str, Any]]:
    """The single-statement enqueue of ``nj`` on PostgreSQL and its parameters: it yields
    the job's fair key, or no row when the gate refused the job or, for a job with an
    idempotency key, when that key exists already. No row means the transaction must roll
    back: the other CTEs (the owner's fair key, the gate's reservation) have still run."""
    row = _row(nj, 0, now)
    params = {c: row[c] for c in _JOB_COLUMNS}
    params.update(
        now_ms=int(now * 1000),
        quantum=FAIR_QUANTUM_MS,
        event=json.dumps({"state": QUEUED}),
    )
    if gate is not None:
        params.update(gate.params)
    return _one_statement(gate.cte if gate else None, nj.idempotency_key is not None), params


def planned_job(nj: NewJob, now: float, fair_key: int) -> Job:
    """The job ``postgres_plan``'s statement inserted, without reading it back."""
    return _job_from_row_values(_row(nj, fair_key, now))


def _insert_one_postgres(conn: Connection, nj: NewJob, now: float, gate: Gate | None) -> Job:
    """The common case (one job, no idempotency key) on PostgreSQL in one round trip: the
    gate (a paid job's reservation), the owner's fair key, the job and its ``queued`` event
    as one statement of data-modifying CTEs instead of five (the workers' NOTIFY goes after
    the commit, see ``store.notify_sender``)."""
    stmt, params = postgres_plan(nj, now, gate)
    fair_key = conn.execute(stmt, params).scalar()
    if fair_key is None:
        assert gate is not None  # only a refusing gate leaves the job row unwritten
        raise gate.refused(conn)
    return planned_job(nj, now, fair_key)


class _NotWritten(Exception):
    """The single statement wrote no job: roll its savepoint back."""


def _insert_keyed_postgres(
    conn: Connection, dialect: Dialect, nj: NewJob, now: float, gate: Gate | None
) -> tuple[Job, bool]:
    """A job with an idempotency key, by the statements the API's asynchronous enqueue
    batches (``BY_KEYS``, then ``postgres_plan``): an existing key answers with its job;
    else the single statement, which writes nothing when the key came in meanwhile (a
    savepoint then undoes its owner's fair key and its gate's reservation) and the lookup
    finds the winner's job. (job, created)."""
    key = (nj.owner, str(nj.idempotency_key))
    existing = by_keys(conn, [key]).get(key)
    if existing is not None:
        return existing, False
    stmt, params = postgres_plan(nj, now, gate)
    try:
        with conn.begin_nested():
            fair_key = conn.execute(stmt, params).scalar()
            if fair_key is None:
                raise _NotWritten
    except _NotWritten:
        winner = by_keys(conn, [key]).get(key)
        if winner is not None:
            return winner, False
        assert gate is not None  # only a refusing gate or a taken key leaves no row
        raise gate.refused(conn) from None
    dialect.notify(conn, nj.kind)
    return planned_job(nj, now, fair_key), True


def _row(nj: NewJob, fair_key: int, now: float) -> dict[str, Any]:
    return {
        "id": nj.id,
        "kind": nj.kind,
        "owner": nj.owner,
        "input": json.dumps(nj.input, separators=(",", ":"), sort_keys=True),
        "state": QUEUED,
        "priority": nj.priority,
        "fair_key": fair_key,
        "run_at": nj.run_at if nj.run_at is not None else now,
        "attempt": 0,
        "snoozes": 0,
        "max_attempts": nj.max_attempts,
        "timeout": nj.timeout,
        "cancel_requested": False,
        "progress_done": 0.0,
        "progress_total": 0.0,
        "progress_message": "",
        "idempotency_key": nj.idempotency_key,
        "parent_id": nj.parent_id,
        "webhook_url": nj.webhook_url,
        "cost_estimated": nj.cost_estimated,
        "cost_reserved": nj.cost_reserved,
        "created_at": now,
        "updated_at": now,
    }


_NULL_ROW = {c.name: None for c in jobs.columns}


def _job_from_row_values(row: dict[str, Any]) -> Job:
    return Job.from_row(SimpleNamespace(_mapping={**_NULL_ROW, **row}))


def job_from_mapping(row: dict[str, Any]) -> Job:
    """A job from a ``jobs`` row read without SQLAlchemy (column name to value)."""
    return Job.from_row(SimpleNamespace(_mapping=row))


KeyRef = tuple[str, str]
"""(owner, idempotency key): a submission with the same pair as a job is its replay."""


def key_of(nj: NewJob) -> KeyRef | None:
    return None if nj.idempotency_key is None else (nj.owner, nj.idempotency_key)


BY_KEYS = text(
    """
    SELECT jobs.* FROM jobs
    JOIN unnest(CAST(:owners AS text[]), CAST(:keys AS text[])) AS wanted(owner, key)
      ON jobs.owner = wanted.owner AND jobs.idempotency_key = wanted.key
    """
)
"""PostgreSQL: the jobs of any number of (owner, key) pairs, one statement of fixed text
(``by_keys`` runs it; the API's asynchronous enqueue sends it ahead of a batch's inserts)."""


def by_keys_params(keys: Sequence[KeyRef]) -> dict[str, list[str]]:
    """``BY_KEYS``'s parameters."""
    return {"owners": [owner for owner, _ in keys], "keys": [key for _, key in keys]}


def jobs_by_key(rows: Sequence[Any]) -> dict[KeyRef, Job]:
    """Jobs read by ``BY_KEYS`` (SQLAlchemy rows or plain mappings), by (owner, key)."""
    found: dict[KeyRef, Job] = {}
    for row in rows:
        job = Job.from_row(row) if isinstance(row, Row) else job_from_mapping(row)
        found[(job.owner, str(job.idempotency_key))] = job
    return found


def by_keys(conn: Connection, keys: Sequence[KeyRef]) -> dict[KeyRef, Job]:
    """The jobs that already hold any of these (owner, idempotency key) pairs: the replay
    check every enqueue path makes (``insert_jobs``, the API's route and its lanes)."""
    if not keys:
        return {}
    if conn.dialect.name == "postgresql":
        return jobs_by_key(conn.execute(BY_KEYS, by_keys_params(keys)).all())
    pairs = tuple_(jobs.c.owner, jobs.c.idempotency_key).in_(list(keys))
    return jobs_by_key(conn.execute(select(jobs).where(pairs)).all())


def by_key(conn: Connection, owner: str, key: str) -> Job | None:
    """The owner's job with this idempotency key, if any."""
    return by_keys(conn, [(owner, key)]).get((owner, key))
