"""Payment orders for credit packs: created ``pending``, ``paid`` exactly once (with the
purchase grant in the same transaction), or ``failed``. A failed order can still become
paid (providers deliver callbacks out of order); a paid one never changes again."""

from __future__ import annotations

import secrets
import time
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Connection, select, update

from renderhouse.errors import InvalidInput, NotFound
from renderhouse.ledger import accounts
from renderhouse.settings import CreditPack
from renderhouse.store.schema_ledger import payment_orders

PROVIDERS = ("duitku", "stripe")
PENDING, PAID, FAILED = "pending", "paid", "failed"


@dataclass(frozen=True)
class Order:
    id: str
    account: str
    provider: str
    pack: str
    credits: int
    price: int
    currency: str
    state: str
    provider_ref: str | None
    payment_url: str | None
    created_at: float
    updated_at: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def create_order(
    conn: Connection,
    account: str,
    provider: str,
    pack: str,
    packs: dict[str, CreditPack],
    *,
    now: float | None = None,
) -> Order:
    if provider not in PROVIDERS:
        raise InvalidInput(
            f"provider must be one of {', '.join(PROVIDERS)}", details={"field": "provider"}
        )
    if pack not in packs:
        raise InvalidInput(
            f"no credit pack {pack!r}; choose one of {', '.join(sorted(packs))}",
            details={"field": "pack", "packs": sorted(packs)},
        )
    p, now = packs[pack], time.time() if now is None else now
    order = Order(
        "ord_" + secrets.token_hex(12), account, provider, pack, p.credits, p.price,
        p.currency, PENDING, None, None, now, now,
    )  # fmt: skip
    conn.execute(payment_orders.insert().values(**order.to_dict()))
    return order


def get_order(conn: Connection, order_id: str, account: str | None = None) -> Order:
    stmt = select(payment_orders).where(payment_orders.c.id == order_id)
    if account is not None:
        stmt = stmt.where(payment_orders.c.account == account)
    row = conn.execute(stmt).first()
    if row is None:
        raise NotFound(f"no payment order {order_id}", details={"order_id": order_id})
    return Order(**row._mapping)


def attach_payment(conn: Connection, order_id: str, provider_ref: str, payment_url: str) -> None:
    conn.execute(
        update(payment_orders)
        .where(payment_orders.c.id == order_id)
        .values(provider_ref=provider_ref, payment_url=payment_url, updated_at=time.time())
    )


def mark_paid(conn: Connection, order: Order, provider_ref: str | None) -> bool:
    """Grant the order's credits, exactly once: True if this call granted them. The state
    guard decides under the row lock; the unique (provider, payment_ref) purchase entry
    would refuse a second grant even if it did not."""
    now = time.time()
    res = conn.execute(
        update(payment_orders)
        .where(payment_orders.c.id == order.id, payment_orders.c.state != PAID)
        .values(
            state=PAID, provider_ref=provider_ref or payment_orders.c.provider_ref, updated_at=now
        )
    )
    if res.rowcount != 1:
        return False
    accounts.credit(conn, order.account, order.credits, now)
    accounts.record(
        conn, order.account, "purchase", order.credits, now,
        provider=order.provider, payment_ref=order.id,
        reason=f"{order.pack} pack, {order.price} {order.currency} ({provider_ref or 'no ref'})",
    )  # fmt: skip
    return True


def mark_failed(conn: Connection, order_id: str) -> bool:
    res = conn.execute(
        update(payment_orders)
        .where(payment_orders.c.id == order_id, payment_orders.c.state == PENDING)
        .values(state=FAILED, updated_at=time.time())
    )
    return res.rowcount == 1
