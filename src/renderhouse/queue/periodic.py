"""Maintenance duty: enqueue periodic (cron-style) jobs exactly once per slot, however many
workers run it: the (name, slot) row and the job are inserted in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cronsim import CronSim
from sqlalchemy import Connection, delete, select

from renderhouse.errors import InvalidInput
from renderhouse.queue import enqueue
from renderhouse.queue.enqueue import NewJob
from renderhouse.queue.queue import JobQueue
from renderhouse.store.dialect import upsert_insert
from renderhouse.store.schema import periodic_runs


@dataclass(frozen=True)
class PeriodicJob:
    """``cron`` is a 5-field expression in UTC, e.g. ``"0 3 * * *"`` (03:00 every day)."""

    name: str
    cron: str
    kind: str
    input: dict[str, Any] = field(default_factory=dict)
    priority: int = 0

    def __post_init__(self) -> None:
        try:
            CronSim(self.cron, datetime.now(UTC))
        except Exception as exc:
            raise InvalidInput(
                f"periodic job {self.name!r}: bad cron {self.cron!r}: {exc}"
            ) from exc

    def last_slot(self, now: float) -> float:
        """The latest scheduled time at or before ``now`` (looking back at most a day)."""
        start = datetime.fromtimestamp(now - 86_400, UTC).replace(second=0, microsecond=0)
        last = None
        for t in CronSim(self.cron, start):
            if t.timestamp() > now:
                break
            last = t.timestamp()
        return last if last is not None else float("-inf")


def enqueue_due(queue: JobQueue, schedule: list[PeriodicJob]) -> list[str]:
    """Enqueue each periodic job whose latest slot has no run yet; returns new job ids."""
    made: list[str] = []
    now = queue.clock.now()
    for pj in schedule:
        slot = pj.last_slot(now)
        if slot == float("-inf"):
            continue
        with queue.store.begin() as conn:
            exists = conn.execute(
                select(periodic_runs.c.name).where(
                    periodic_runs.c.name == pj.name, periodic_runs.c.slot == slot
                )
            ).first()
            if exists:
                continue
            nj = NewJob(kind=pj.kind, input=pj.input, owner="system", priority=pj.priority)
            stmt = upsert_insert(conn, periodic_runs).values(name=pj.name, slot=slot, job_id=nj.id)
            claimed = conn.execute(
                stmt.on_conflict_do_nothing().returning(periodic_runs.c.name)
            ).first()
            if claimed is None:  # another worker took this slot first
                continue
            enqueue.insert_jobs(conn, queue.store.dialect, [nj], now)
            made.append(nj.id)
    return made


def claim_slot(conn: Connection, name: str, slot: float, forget_before: float) -> bool:
    """Claim (``name``, ``slot``) for this process: True for exactly one claimant across
    the cluster. Slots of ``name`` older than ``forget_before`` are deleted on the way."""
    conn.execute(
        delete(periodic_runs).where(
            periodic_runs.c.name == name, periodic_runs.c.slot < forget_before
        )
    )
    row = conn.execute(
        upsert_insert(conn, periodic_runs)
        .values(name=name, slot=slot)
        .on_conflict_do_nothing()
        .returning(periodic_runs.c.name)
    ).first()
    return row is not None
