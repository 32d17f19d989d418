"""A local HTTP server that plays Duitku: the invoice (``v2/inquiry``) and the
``transactionStatus`` call, with Duitku's MD5 signatures checked, over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, HTTPException

from renderhouse.ledger.duitku import md5
from tests.threaded_server import serving

MERCHANT, API_KEY = "D0001", "duitku-test-api-key"


@dataclass
class FakeDuitku:
    url: str = ""
    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)
    status_calls: int = 0

    def pay(self, order_id: str, code: str = "00") -> None:
        self.invoices[order_id]["statusCode"] = code

    def callback(self, order_id: str, *, amount: int | None = None, code: str = "00") -> dict:
        """The form Duitku posts to the merchant's callback URL."""
        inv = self.invoices[order_id]
        amt = str(inv["amount"] if amount is None else amount)
        return {
            "merchantCode": MERCHANT,
            "amount": amt,
            "merchantOrderId": order_id,
            "productDetail": "credits",
            "paymentCode": "VC",
            "resultCode": code,
            "reference": inv["reference"],
            "signature": md5(MERCHANT, amt, order_id, API_KEY),
        }

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/api/merchant/v2/inquiry")
        def inquiry(body: dict[str, Any]) -> dict[str, Any]:
            want = md5(MERCHANT, body["merchantOrderId"], str(body["paymentAmount"]), API_KEY)
            if body["merchantCode"] != MERCHANT or body["signature"] != want:
                raise HTTPException(401, "Wrong signature")
            ref = f"DXXXX{len(self.invoices):06d}"
            self.invoices[body["merchantOrderId"]] = {
                "amount": body["paymentAmount"], "reference": ref, "statusCode": "01",
            }  # fmt: skip
            return {
                "merchantCode": MERCHANT, "reference": ref, "statusCode": "00",
                "paymentUrl": f"{self.url}/pay/{ref}", "statusMessage": "SUCCESS",
            }  # fmt: skip

        @app.post("/api/merchant/transactionStatus")
        def status(body: dict[str, Any]) -> dict[str, Any]:
            self.status_calls += 1
            order_id = body["merchantOrderId"]
            if body["signature"] != md5(MERCHANT, order_id, API_KEY):
                raise HTTPException(401, "Wrong signature")
            inv = self.invoices.get(order_id)
            if inv is None:
                raise HTTPException(404, "transaction not found")
            return {
                "merchantOrderId": order_id, "reference": inv["reference"],
                "amount": f"{inv['amount']}.00", "fee": "0.00",
                "statusCode": inv["statusCode"], "statusMessage": "SUCCESS",
            }  # fmt: skip

        return app


@contextmanager
def running_fake_duitku() -> Iterator[FakeDuitku]:
    fake = FakeDuitku()
    with serving(fake.app()) as url:
        fake.url = url
        yield fake
