"""Stripe-style webhooks: ``Stripe-Signature: t=<unix time>,v1=<hex>`` where v1 is
HMAC-SHA256(secret, f"{t}.{payload}"). The timestamp is signed, so a captured delivery
replayed after the tolerance is refused; inside it, the order's state guard and the unique
purchase entry make a duplicate grant nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from renderhouse.errors import NotFound
from renderhouse.ledger import orders
from renderhouse.ledger.errors import PaymentRejected
from renderhouse.store.database import Store

PAID_EVENTS = {"checkout.session.completed", "payment_intent.succeeded"}
FAILED_EVENTS = {"payment_intent.payment_failed", "checkout.session.expired"}


def sign(payload: bytes, secret: str, t: int) -> str:
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify(payload: bytes, header: str, secret: str, tolerance: int, now: float) -> None:
    parts = [p.split("=", 1) for p in header.split(",") if "=" in p]
    stamps = [v for k, v in parts if k.strip() == "t"]
    macs = [v.strip() for k, v in parts if k.strip() == "v1"]
    if len(stamps) != 1 or not macs or not stamps[0].strip().isdigit():
        raise PaymentRejected("the Stripe-Signature header is malformed")
    t = int(stamps[0])
    if abs(now - t) > tolerance:
        raise PaymentRejected(
            f"the webhook was signed {int(now - t)} s ago (tolerance {tolerance} s): replay?"
        )
    want = sign(payload, secret, t).split("v1=", 1)[1]
    if not any(hmac.compare_digest(want, m) for m in macs):
        raise PaymentRejected("the webhook's signature does not match")


def _paid_amount(obj: dict[str, Any]) -> int | None:
    for key in ("amount_total", "amount_received"):
        if isinstance(obj.get(key), int):
            return int(obj[key])
    return None


def handle_event(
    store: Store,
    payload: bytes,
    header: str,
    secret: str,
    *,
    tolerance: int = 300,
    now: float | None = None,
) -> dict[str, Any]:
    verify(payload, header, secret, tolerance, time.time() if now is None else now)
    try:
        event = json.loads(payload)
        etype = str(event["type"])
        obj = event["data"]["object"]
    except (ValueError, KeyError, TypeError) as exc:
        raise PaymentRejected("the webhook body is not a Stripe event") from exc
    order_id = (obj.get("metadata") or {}).get("order_id")
    if etype not in PAID_EVENTS | FAILED_EVENTS or not order_id:
        return {"event": event.get("id"), "status": "ignored"}
    try:
        with store.read() as conn:
            order = orders.get_order(conn, str(order_id))
    except NotFound as exc:
        raise PaymentRejected(f"no order {order_id}") from exc
    if order.provider != "stripe":
        raise PaymentRejected(f"order {order.id} is not paid through Stripe")
    if etype in FAILED_EVENTS:
        with store.begin() as conn:
            failed = orders.mark_failed(conn, order.id)
        return {"order_id": order.id, "status": "failed" if failed else "ignored"}
    if etype == "checkout.session.completed" and obj.get("payment_status") != "paid":
        return {"order_id": order.id, "status": "ignored"}
    currency = str(obj.get("currency", "")).upper()
    if _paid_amount(obj) != order.price or currency != order.currency.upper():
        raise PaymentRejected("the payment's amount or currency does not match the order")
    ref = str(obj.get("payment_intent") or obj.get("id") or "") or None
    with store.begin() as conn:
        granted = orders.mark_paid(conn, order, ref)
    return {"order_id": order.id, "status": "granted" if granted else "already_paid"}
