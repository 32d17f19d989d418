"""Balances and the movements that fund them: grants, purchases, admin adjustments.

Every movement is one appended ``ledger_entries`` row plus one update of the cached balance,
in the caller's transaction. Decreases are conditional UPDATEs (``WHERE available >= :a``),
so a balance cannot go below zero under any concurrency: SQLite serialises writers
(``BEGIN IMMEDIATE``), PostgreSQL re-checks the condition after waiting for the row lock;
the CHECK constraint on ``credit_accounts`` is the last line of defence."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select, text, update

from renderhouse.errors import InvalidInput
from renderhouse.ledger.errors import InsufficientCredits
from renderhouse.store.dialect import upsert_insert
from renderhouse.store.schema_ledger import credit_accounts, ledger_entries


@dataclass(frozen=True)
class Balance:
    account: str
    available: int
    held: int

    def to_dict(self) -> dict[str, Any]:
        return {"account": self.account, "available": self.available, "held": self.held}


def balance(conn: Connection, account: str) -> Balance:
    row = conn.execute(
        select(credit_accounts.c.available, credit_accounts.c.held).where(
            credit_accounts.c.account == account
        )
    ).first()
    return Balance(account, int(row.available), int(row.held)) if row else Balance(account, 0, 0)


def credit(conn: Connection, account: str, amount: int, now: float, held: int = 0) -> None:
    """Add ``amount`` to available (and ``held`` to held), creating the account row."""
    stmt = upsert_insert(conn, credit_accounts).values(
        account=account, available=amount, held=held, updated_at=now
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[credit_accounts.c.account],
            set_={
                "available": credit_accounts.c.available + amount,
                "held": credit_accounts.c.held + held,
                "updated_at": now,
            },
        )
    )


def debit(conn: Connection, account: str, amount: int, now: float, *, hold: bool) -> None:
    """Take ``amount`` from available (into held when ``hold``), or raise InsufficientCredits."""
    values: dict[str, Any] = {"available": credit_accounts.c.available - amount, "updated_at": now}
    if hold:
        values["held"] = credit_accounts.c.held + amount
    res = conn.execute(
        update(credit_accounts)
        .where(credit_accounts.c.account == account, credit_accounts.c.available >= amount)
        .values(**values)
    )
    if res.rowcount != 1:
        raise shortfall(conn, account, amount)


def hold_ctes(prefix: str = "") -> str:
    """``hold`` on PostgreSQL as data-modifying CTEs, the one text of it: ``moved`` debits
    available into held only where the balance covers the amount, and ``gate`` appends the
    ``reserve`` entry from ``moved``'s row, so it yields a row exactly when the hold was
    made. Parameters are ``amount``, ``account``, ``job_id``, ``reason`` and ``now``, each
    named with ``prefix`` first (the enqueue statement embeds this with ``gate_``)."""
    p = prefix
    return f"""
    moved AS (
        UPDATE credit_accounts
        SET available = available - :{p}amount, held = held + :{p}amount, updated_at = :{p}now
        WHERE account = :{p}account AND available >= :{p}amount
        RETURNING account
    ), gate AS (
        INSERT INTO ledger_entries (account, job_id, kind, amount, reason, created_at)
        SELECT account, :{p}job_id, 'reserve', :{p}amount, :{p}reason, :{p}now FROM moved
        RETURNING id
    )"""


_HOLD_POSTGRES = text(f"WITH {hold_ctes()} SELECT id FROM gate")


def hold(
    conn: Connection, account: str, amount: int, now: float, *, job_id: str, reason: str
) -> None:
    """Move ``amount`` from available to held for ``job_id`` and append its ``reserve``
    entry, or raise InsufficientCredits. On PostgreSQL one prebuilt statement (it runs on
    every paid enqueue): the guarded UPDATE feeds the INSERT in a data-modifying CTE, so no
    entry is written unless the debit happened."""
    if conn.dialect.name != "postgresql":
        debit(conn, account, amount, now, hold=True)
        record(conn, account, "reserve", amount, now, job_id=job_id, reason=reason)
        return
    params = {"account": account, "amount": amount, "now": now, "job_id": job_id}
    if conn.execute(_HOLD_POSTGRES, {**params, "reason": reason}).first() is None:
        raise shortfall(conn, account, amount)


def shortfall(conn: Connection, account: str, amount: int) -> InsufficientCredits:
    have = balance(conn, account).available
    return InsufficientCredits(
        f"this needs {amount} credits and {account} has {have} available; "
        "buy a credit pack or ask an admin for a grant",
        details={"account": account, "needed": amount, "available": have},
    )


def record(conn: Connection, account: str, kind: str, amount: int, now: float, **cols: Any) -> int:
    """Append one entry; returns its id."""
    res = conn.execute(
        ledger_entries.insert().values(
            account=account, kind=kind, amount=amount, created_at=now, **cols
        )
    )
    pk = res.inserted_primary_key
    assert pk is not None
    return int(pk[0])


def grant(
    conn: Connection,
    account: str,
    amount: int,
    reason: str,
    *,
    actor: str | None = None,
    now: float | None = None,
) -> Balance:
    """Give ``amount`` credits (an admin or a promotion), recorded with its reason."""
    if amount <= 0:
        raise InvalidInput("a grant is a positive amount", details={"field": "amount"})
    now = time.time() if now is None else now
    credit(conn, account, amount, now)
    record(conn, account, "grant", amount, now, reason=reason, actor=actor)
    return balance(conn, account)


def adjust(
    conn: Connection,
    account: str,
    amount: int,
    reason: str,
    *,
    actor: str | None = None,
    now: float | None = None,
) -> Balance:
    """A signed correction; a negative one never takes available below zero."""
    if amount == 0:
        raise InvalidInput("an adjustment is a non-zero amount", details={"field": "amount"})
    if not reason.strip():
        raise InvalidInput("an adjustment needs a reason", details={"field": "reason"})
    now = time.time() if now is None else now
    if amount > 0:
        credit(conn, account, amount, now)
    else:
        debit(conn, account, -amount, now, hold=False)
    record(conn, account, "adjustment", amount, now, reason=reason, actor=actor)
    return balance(conn, account)


def entries(
    conn: Connection, account: str, *, before_id: int | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """An account's entries, newest first; ``before_id`` is the cursor."""
    stmt = (
        select(ledger_entries)
        .where(ledger_entries.c.account == account)
        .order_by(ledger_entries.c.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        stmt = stmt.where(ledger_entries.c.id < before_id)
    return [dict(r._mapping) for r in conn.execute(stmt).all()]
