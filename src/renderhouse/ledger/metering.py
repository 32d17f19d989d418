"""The ledger's ``Meter`` for ``ctx.spend``: a job's paid calls are held and settled under
every budget key the job answers to — its owner's user id, the owner's org
(``org:<name>``) and the provider (``provider:<name>``, the deployment's own account with
it) — in both periods, so spend is tracked even where no cap is set yet.

The (key, period) pairs are always taken in one sorted order, and a call's holds settled
in that order, so concurrent calls lock the same usage rows in the same order and never
deadlock on PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, select

from renderhouse.ledger import budgets
from renderhouse.ledger.errors import BudgetExhausted
from renderhouse.queue.jobs import Job
from renderhouse.store.database import Store
from renderhouse.store.schema_auth import users


def budget_keys(conn: Connection, owner: str, providers: tuple[str, ...] = ()) -> list[str]:
    """The keys a job of ``owner`` draws on, sorted: the owner, its org, the providers."""
    keys = {owner, *(f"provider:{p}" for p in providers)}
    org = conn.execute(select(users.c.org).where(users.c.id == owner)).scalar_one_or_none()
    if org:
        keys.add(f"org:{org}")
    return sorted(keys)


class BudgetMeter:
    """One job's meter: each call is one transaction on the store."""

    def __init__(self, store: Store, owner: str) -> None:
        self.store, self.owner = store, owner

    def reserve(self, estimate: int, provider: str | None) -> list[str]:
        with self.store.begin() as conn:
            keys = budget_keys(conn, self.owner, (provider,) if provider else ())
            return [
                budgets.reserve_budget(conn, key, period, estimate).id
                for key in keys
                for period in budgets.PERIODS
            ]

    def settle(self, holds: list[str], actual: int) -> None:
        with self.store.begin() as conn:
            for hold_id in holds:
                budgets.settle_budget(conn, hold_id, actual)


def meter_for(store: Store) -> Callable[[Job], BudgetMeter]:
    """The worker's ``meter_for``: every job metered against its owner's budgets."""
    return lambda job: BudgetMeter(store, job.owner)


def refuse_if_exhausted(
    conn: Connection, keys: list[str], *, now: float | None = None
) -> list[dict[str, Any]]:
    """Raise BudgetExhausted when one of ``keys`` has spent its whole limit this window
    (no call could be admitted until the next one); else the keys' status."""
    now = time.time() if now is None else now
    status = [budgets.budget_status(conn, k, p, now=now) for k in keys for p in budgets.PERIODS]
    for s in status:
        if s["limit"] is not None and s["spent"] >= s["limit"]:
            raise BudgetExhausted(
                f"the {s['period']} budget of {s['key']} is used up ({s['spent']} spent, "
                f"limit {s['limit']}); wait for the next {s['period']} or raise the budget",
                details={k: s[k] for k in ("key", "period", "window", "limit", "spent", "held")},
            )
    return status
