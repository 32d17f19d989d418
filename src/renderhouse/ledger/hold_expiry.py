"""Maintenance duty: settle budget holds whose caller died (a generator process killed in a
paid call, a lost worker) at their estimate, so recorded spend stays an upper bound and an
abandoned hold does not block its budget for good. Safe on any number of workers at once:
each hold is settled by an UPDATE guarded by ``state = 'held'``, so only one counts it."""

from __future__ import annotations

import time
from collections.abc import Callable

from renderhouse.ledger.budgets import expire_holds
from renderhouse.store.database import Store

EVERY_SECONDS = 60.0


def expire_abandoned(store: Store, max_age: float, *, now: float | None = None) -> int:
    """Settle holds older than ``max_age`` seconds; returns how many."""
    now = time.time() if now is None else now
    with store.begin() as conn:
        return expire_holds(conn, now - max_age, now=now)


def duty(store: Store, max_age: float) -> tuple[float, Callable[[], int]]:
    """The (every seconds, callable) pair ``Maintenance.extra`` runs: a minute, or a
    quarter of ``max_age`` when that is shorter, so a hold outlives it by little."""

    def expire_budget_holds() -> int:
        return expire_abandoned(store, max_age)

    return min(EVERY_SECONDS, max_age / 4), expire_budget_holds
