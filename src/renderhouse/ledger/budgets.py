"""Spending caps in money for generators that call paid APIs, per key (a user, an org, a
provider) and period (UTC ``day`` or ``month``).

Before a paid call, ``reserve_budget`` holds the call's estimated maximum; after it,
``settle_budget`` records what it really cost (exactly once per hold). A hold is admitted
when it fits under the limit with everything spent and held so far, or, when nothing else
is in flight and some budget is left, as the one call that may finish the budget: so
spending overshoots the limit by at most one in-flight call per key (plus any amount a
provider charges above the maximum it was reserved for)."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, or_, select, update

from renderhouse.errors import InvalidInput
from renderhouse.ledger.errors import BudgetExhausted
from renderhouse.store.dialect import upsert_insert
from renderhouse.store.schema_ledger import budget_holds, budget_usage, budgets

PERIODS = ("day", "month")


@dataclass(frozen=True)
class BudgetHold:
    id: str
    key: str
    period: str
    window: str
    amount: int
    actual: int | None = None
    state: str = "held"


def window_of(period: str, now: float) -> str:
    if period not in PERIODS:
        raise InvalidInput(f"a budget period is one of {', '.join(PERIODS)}")
    dt = datetime.fromtimestamp(now, UTC)
    return dt.strftime("%Y-%m-%d" if period == "day" else "%Y-%m")


def set_budget(conn: Connection, key: str, period: str, limit: int | None) -> None:
    """Cap ``key``'s spend per ``period`` at ``limit`` (None removes the cap)."""
    window_of(period, 0.0)
    if limit is None:
        conn.execute(budgets.delete().where(budgets.c.key == key, budgets.c.period == period))
        return
    if limit < 0:
        raise InvalidInput("a budget limit is zero or more", details={"field": "limit"})
    stmt = upsert_insert(conn, budgets).values(
        key=key, period=period, limit_amount=limit, updated_at=time.time()
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[budgets.c.key, budgets.c.period],
            set_={"limit_amount": limit, "updated_at": time.time()},
        )
    )


def _limit(conn: Connection, key: str, period: str) -> int | None:
    return conn.execute(
        select(budgets.c.limit_amount).where(budgets.c.key == key, budgets.c.period == period)
    ).scalar_one_or_none()


def _usage(key: str, period: str, window: str) -> Any:
    u = budget_usage.c
    return and_(u.key == key, u.period == period, u.window == window)


def reserve_budget(
    conn: Connection, key: str, period: str, max_amount: int, *, now: float | None = None
) -> BudgetHold:
    """Hold ``max_amount`` of ``key``'s budget for one call, or raise BudgetExhausted."""
    if max_amount < 0:
        raise InvalidInput("a budget hold is zero or more", details={"field": "max_amount"})
    now = time.time() if now is None else now
    window = window_of(period, now)
    conn.execute(
        upsert_insert(conn, budget_usage)
        .values(key=key, period=period, window=window, spent=0, held=0)
        .on_conflict_do_nothing(
            index_elements=[budget_usage.c.key, budget_usage.c.period, budget_usage.c.window]
        )
    )
    limit = _limit(conn, key, period)
    u = budget_usage.c
    stmt = update(budget_usage).where(_usage(key, period, window)).values(held=u.held + max_amount)
    if limit is not None:
        stmt = stmt.where(
            or_(u.spent + u.held + max_amount <= limit, and_(u.held == 0, u.spent < limit))
        )
    if conn.execute(stmt).rowcount != 1:
        row = conn.execute(select(u.spent, u.held).where(_usage(key, period, window))).one()
        raise BudgetExhausted(
            f"the {period} budget of {key} is used up ({row.spent} spent, {row.held} in "
            f"flight, limit {limit}); wait for the next {period} or raise the budget",
            details={
                "key": key,
                "period": period,
                "window": window,
                "limit": limit,
                "spent": int(row.spent),
                "held": int(row.held),
                "needed": max_amount,
            },
        )
    hold = BudgetHold(secrets.token_hex(16), key, period, window, max_amount)
    conn.execute(
        budget_holds.insert().values(
            id=hold.id,
            key=key,
            period=period,
            window=window,
            amount=max_amount,
            state="held",
            created_at=now,
        )
    )
    return hold


def settle_budget(
    conn: Connection, hold_id: str, actual: int, *, now: float | None = None
) -> BudgetHold:
    """Record what the call cost (0 when it was not made); a second settle changes nothing."""
    if actual < 0:
        raise InvalidInput("a settled amount is zero or more", details={"field": "actual"})
    now = time.time() if now is None else now
    h = budget_holds.c
    row = conn.execute(
        update(budget_holds)
        .where(h.id == hold_id, h.state == "held")
        .values(state="settled", actual=actual, settled_at=now)
        .returning(h.key, h.period, h.window, h.amount)
    ).first()
    if row is None:
        found = conn.execute(select(budget_holds).where(h.id == hold_id)).first()
        if found is None:
            raise InvalidInput(f"no budget hold {hold_id}", details={"hold_id": hold_id})
        return BudgetHold(
            found.id,
            found.key,
            found.period,
            found.window,
            found.amount,
            found.actual,
            found.state,
        )
    u = budget_usage.c
    conn.execute(
        update(budget_usage)
        .where(_usage(row.key, row.period, row.window))
        .values(held=u.held - row.amount, spent=u.spent + actual)
    )
    return BudgetHold(hold_id, row.key, row.period, row.window, row.amount, actual, "settled")


def expire_holds(conn: Connection, older_than: float, *, now: float | None = None) -> int:
    """Settle holds abandoned before ``older_than`` (a crashed caller) at their maximum:
    the call may have been made, so assume it was. In (key, period) order, the order in
    which callers lock usage rows, so this never deadlocks with them."""
    h = budget_holds.c
    ids = conn.execute(
        select(h.id, h.amount)
        .where(h.state == "held", h.created_at < older_than)
        .order_by(h.key, h.period, h.window, h.id)
    ).all()
    for hold_id, amount in ids:
        settle_budget(conn, hold_id, int(amount), now=now)
    return len(ids)


def budget_status(
    conn: Connection, key: str, period: str, *, now: float | None = None
) -> dict[str, Any]:
    now = time.time() if now is None else now
    window = window_of(period, now)
    u = budget_usage.c
    row = conn.execute(select(u.spent, u.held).where(_usage(key, period, window))).first()
    spent, held = (int(row.spent), int(row.held)) if row else (0, 0)
    limit = _limit(conn, key, period)
    remaining = None if limit is None else max(0, limit - spent - held)
    return {
        "key": key,
        "period": period,
        "window": window,
        "limit": limit,
        "spent": spent,
        "held": held,
        "remaining": remaining,
    }


def list_budgets(conn: Connection, *, now: float | None = None) -> list[dict[str, Any]]:
    """Every configured budget with its current window's status, by key and period."""
    rows = conn.execute(
        select(budgets.c.key, budgets.c.period).order_by(budgets.c.key, budgets.c.period)
    ).all()
    return [budget_status(conn, r.key, r.period, now=now) for r in rows]
