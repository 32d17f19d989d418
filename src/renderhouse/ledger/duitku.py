"""Duitku: create an invoice, and turn its callback into credits exactly once.

Duitku signs a callback with MD5(merchantCode + amount + merchantOrderId + apiKey): no
timestamp, no result code. So a valid signature only proves *which* order the callback is
about; whether it was paid is asked of Duitku itself (``transactionStatus``) before any
credit is granted, and the grant happens once per order however often it is called."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from renderhouse.errors import NotConfigured, NotFound
from renderhouse.ledger import orders
from renderhouse.ledger.errors import PaymentNotConfirmed, PaymentRejected
from renderhouse.settings import Settings
from renderhouse.store.database import Store

SUCCESS, PENDING = "00", "01"
CALLBACK_FIELDS = ("merchantCode", "amount", "merchantOrderId", "signature")


def md5(*parts: str) -> str:
    return hashlib.md5("".join(parts).encode(), usedforsecurity=False).hexdigest()


def _amount(value: Any) -> int:
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise PaymentRejected(f"amount {value!r} is not a number") from exc
    if amount != amount.to_integral_value():
        raise PaymentRejected(f"amount {value!r} is not a whole number of minor units")
    return int(amount)


class DuitkuClient:
    """The two Duitku calls we make; ``transport`` lets tests serve them in-process."""

    def __init__(self, settings: Settings, transport: httpx.BaseTransport | None = None) -> None:
        if not settings.duitku_merchant_code or not settings.duitku_api_key:
            raise NotConfigured(
                "Duitku is not configured: set RENDERHOUSE_DUITKU_MERCHANT_CODE and "
                "RENDERHOUSE_DUITKU_API_KEY"
            )
        self.merchant = settings.duitku_merchant_code
        self.api_key = settings.duitku_api_key
        self.settings = settings
        self._http = httpx.Client(
            base_url=settings.duitku_base_url.rstrip("/"),
            timeout=settings.duitku_timeout_seconds,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            resp = self._http.post(path, json=body)
        except httpx.HTTPError as exc:
            raise PaymentNotConfirmed(f"Duitku could not be reached: {exc}") from exc
        if resp.status_code != 200:
            raise PaymentNotConfirmed(
                f"Duitku answered {resp.status_code} to {path}",
                details={"status": resp.status_code, "body": resp.text[:500]},
            )
        data: dict[str, Any] = resp.json()
        return data

    def inquiry(self, order: orders.Order, email: str | None = None) -> tuple[str, str]:
        """Create the invoice; returns (Duitku reference, payment URL)."""
        data = self._post(
            "/api/merchant/v2/inquiry",
            {
                "merchantCode": self.merchant,
                "paymentAmount": order.price,
                "merchantOrderId": order.id,
                "productDetails": f"Renderhouse {order.pack} credit pack ({order.credits})",
                "email": email or "",
                "callbackUrl": self.settings.duitku_callback_url or "",
                "returnUrl": self.settings.duitku_return_url or "",
                "expiryPeriod": 60,
                "signature": md5(self.merchant, order.id, str(order.price), self.api_key),
            },
        )
        return str(data.get("reference", "")), str(data.get("paymentUrl", ""))

    def status(self, order_id: str) -> dict[str, Any]:
        return self._post(
            "/api/merchant/transactionStatus",
            {
                "merchantCode": self.merchant,
                "merchantOrderId": order_id,
                "signature": md5(self.merchant, order_id, self.api_key),
            },
        )


def verify_callback(form: Mapping[str, str], merchant: str, api_key: str) -> None:
    missing = [f for f in CALLBACK_FIELDS if not form.get(f)]
    if missing:
        raise PaymentRejected(f"callback lacks {', '.join(missing)}", details={"missing": missing})
    want = md5(form["merchantCode"], form["amount"], form["merchantOrderId"], api_key)
    if form["merchantCode"] != merchant or not hmac.compare_digest(want, form["signature"].lower()):
        raise PaymentRejected("the callback's signature does not match")


def handle_callback(store: Store, client: DuitkuClient, form: Mapping[str, str]) -> dict[str, Any]:
    """Verify, confirm with Duitku, grant once. Returns what happened; raises
    PaymentRejected (forged or mismatched: 400) or PaymentNotConfirmed (not paid yet or
    Duitku unreachable: 409, so Duitku calls again)."""
    verify_callback(form, client.merchant, client.api_key)
    order_id = form["merchantOrderId"]
    try:
        with store.read() as conn:
            order = orders.get_order(conn, order_id)
    except NotFound as exc:
        raise PaymentRejected(f"no order {order_id}") from exc
    if order.provider != "duitku" or _amount(form["amount"]) != order.price:
        raise PaymentRejected("the callback does not match the order's provider or amount")
    if order.state == orders.PAID:
        return {"order_id": order.id, "status": "already_paid"}
    status = client.status(order.id)
    code = str(status.get("statusCode", ""))
    if str(status.get("merchantOrderId")) != order.id or (
        code == SUCCESS and _amount(status.get("amount")) != order.price
    ):
        raise PaymentRejected("Duitku's transaction status does not match the order")
    if code == SUCCESS:
        with store.begin() as conn:
            granted = orders.mark_paid(conn, order, str(status.get("reference") or "") or None)
        return {"order_id": order.id, "status": "granted" if granted else "already_paid"}
    if code == PENDING:
        raise PaymentNotConfirmed(
            f"Duitku has not confirmed order {order.id} yet", details={"statusCode": code}
        )
    with store.begin() as conn:
        orders.mark_failed(conn, order.id)
    return {"order_id": order.id, "status": "failed"}
