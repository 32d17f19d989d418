"""The starter grant: each new user gets ``RENDERHOUSE_STARTER_CREDITS`` once, so the first
job a newcomer submits runs instead of answering 402. Exactly once per user: the entry carries
(provider ``starter``, payment_ref = the user's id), which the ledger keeps unique, so a
repeated call credits nothing and a racing one fails its transaction instead of paying twice."""

from __future__ import annotations

import time

from sqlalchemy import Connection, select

from renderhouse.ledger.accounts import credit, record
from renderhouse.store.schema_ledger import ledger_entries

PROVIDER = "starter"


def grant_starter(conn: Connection, account: str, amount: int, now: float | None = None) -> bool:
    """Grant ``amount`` to a new ``account`` unless it already had its starter grant;
    returns whether credits were granted."""
    if amount <= 0:
        return False
    done = conn.execute(
        select(ledger_entries.c.id).where(
            ledger_entries.c.provider == PROVIDER, ledger_entries.c.payment_ref == account
        )
    ).first()
    if done is not None:
        return False
    now = time.time() if now is None else now
    record(
        conn, account, "grant", amount, now,
        reason="starter credits", provider=PROVIDER, payment_ref=account,
    )  # fmt: skip
    credit(conn, account, amount, now)
    return True
