"""Credit packs bought through Duitku (a local fake speaking its HTTP API) and Stripe-style
webhooks: forged, replayed, out-of-order and duplicate callbacks never grant twice."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from sqlalchemy import select

from renderhouse import ledger
from renderhouse.ledger import stripe_webhook
from renderhouse.store.schema_ledger import ledger_entries
from tests.ledger.conftest import STRIPE_SECRET, Api, client
from tests.ledger.fake_duitku import API_KEY

pytestmark = pytest.mark.anyio

STARTER = 1_000  # credits in the default "starter" pack (price 50,000 IDR)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def purchases(api: Api) -> list[int]:
    with api.runtime.store.read() as conn:
        return list(
            conn.execute(
                select(ledger_entries.c.amount).where(ledger_entries.c.kind == "purchase")
            ).scalars()
        )


def available(api: Api) -> int:
    with api.runtime.store.read() as conn:
        return ledger.balance(conn, api.alice_id).available


async def order(api: Api, provider: str = "duitku") -> dict:
    async with client(api.app, api.alice_key) as alice:
        r = await alice.post("/v1/payments/orders", json={"pack": "starter", "provider": provider})
    assert r.status_code == 201, r.text
    return r.json()


async def test_hundred_concurrent_duitku_callbacks_grant_once(api: Api) -> None:
    o = await order(api)
    assert o["state"] == "pending" and o["payment_url"].startswith(api.fake.url)
    api.fake.pay(o["id"])
    form = api.fake.callback(o["id"])
    async with client(api.app) as provider:
        replies = await asyncio.gather(
            *(provider.post("/v1/payments/duitku/callback", data=form) for _ in range(100))
        )
    assert {r.status_code for r in replies} == {200}
    statuses = [r.json()["status"] for r in replies]
    assert statuses.count("granted") == 1
    assert set(statuses) <= {"granted", "already_paid"}
    assert purchases(api) == [STARTER] and available(api) == STARTER
    async with client(api.app, api.alice_key) as alice:
        assert (await alice.get(f"/v1/payments/orders/{o['id']}")).json()["state"] == "paid"
    with api.runtime.store.read() as conn:
        assert ledger.reconcile(conn).ok


async def test_forged_and_mismatched_duitku_callbacks_are_rejected(api: Api) -> None:
    o = await order(api)
    api.fake.pay(o["id"])
    async with client(api.app) as provider:
        forged = dict(api.fake.callback(o["id"]), signature="0" * 32)
        r = await provider.post("/v1/payments/duitku/callback", data=forged)
        assert r.status_code == 400 and r.json()["error"]["code"] == "payment_rejected"
        # Signed with the right key but for another amount than the order's price.
        cheap = api.fake.callback(o["id"], amount=1)
        assert (await provider.post("/v1/payments/duitku/callback", data=cheap)).status_code == 400
        missing = {k: v for k, v in api.fake.callback(o["id"]).items() if k != "signature"}
        assert (
            await provider.post("/v1/payments/duitku/callback", data=missing)
        ).status_code == 400
        unknown = api.fake.callback(o["id"]) | {"merchantOrderId": "ord_nope"}
        assert (
            await provider.post("/v1/payments/duitku/callback", data=unknown)
        ).status_code == 400
    assert purchases(api) == []


async def test_duitku_result_code_is_not_trusted_status_call_decides(api: Api) -> None:
    o = await order(api)
    async with client(api.app) as provider:
        # A callback claiming success before Duitku has the payment: not granted, retried.
        early = await provider.post(
            "/v1/payments/duitku/callback", data=api.fake.callback(o["id"], code="00")
        )
        assert early.status_code == 409 and early.json()["error"]["code"] == (
            "payment_not_confirmed"
        )
        api.fake.pay(o["id"], "02")
        failed = await provider.post(
            "/v1/payments/duitku/callback", data=api.fake.callback(o["id"], code="02")
        )
        assert failed.json()["status"] == "failed"
        # Out of order: the payment went through after all; the late success still grants.
        api.fake.pay(o["id"], "00")
        late = await provider.post(
            "/v1/payments/duitku/callback", data=api.fake.callback(o["id"], code="00")
        )
        assert late.json()["status"] == "granted"
        stale_failure = await provider.post(
            "/v1/payments/duitku/callback", data=api.fake.callback(o["id"], code="02")
        )
        assert stale_failure.json()["status"] == "already_paid"
    assert purchases(api) == [STARTER]


def stripe_event(order_id: str, etype: str = "checkout.session.completed", **obj: object) -> bytes:
    body = {
        "id": "evt_1",
        "type": etype,
        "data": {
            "object": {
                "id": "cs_test_1",
                "payment_intent": "pi_1",
                "payment_status": "paid",
                "amount_total": 50_000,
                "currency": "idr",
                "metadata": {"order_id": order_id},
                **obj,
            }
        },
    }
    return json.dumps(body).encode()


async def test_stripe_webhook_grants_once_and_refuses_forgeries_and_replays(api: Api) -> None:
    o = await order(api, "stripe")
    payload = stripe_event(o["id"])
    now = int(time.time())

    def signed(body: bytes, t: int = now, secret: str = STRIPE_SECRET) -> dict[str, str]:
        return {"Stripe-Signature": stripe_webhook.sign(body, secret, t)}

    url = "/v1/payments/stripe/webhook"
    async with client(api.app) as provider:
        forged = await provider.post(url, content=payload, headers=signed(payload, secret="nope"))
        assert forged.status_code == 400
        old = await provider.post(url, content=payload, headers=signed(payload, t=now - 3600))
        assert old.status_code == 400 and "replay" in old.json()["error"]["message"]
        tampered = stripe_event(o["id"], amount_total=1)
        bad = await provider.post(url, content=tampered, headers=signed(payload))
        assert bad.status_code == 400
        cheap = await provider.post(url, content=tampered, headers=signed(tampered))
        assert cheap.status_code == 400
        missing = await provider.post(url, content=payload)
        assert missing.status_code == 400
        replies = await asyncio.gather(
            *(provider.post(url, content=payload, headers=signed(payload)) for _ in range(20))
        )
        assert sorted(r.json()["status"] for r in replies).count("granted") == 1
        failed = stripe_event(o["id"], "payment_intent.payment_failed")
        late = await provider.post(url, content=failed, headers=signed(failed))
        assert late.json()["status"] == "ignored"
        other = stripe_event(o["id"], "customer.created")
        assert (await provider.post(url, content=other, headers=signed(other))).json()[
            "status"
        ] == "ignored"
    assert purchases(api) == [STARTER] and available(api) == STARTER


async def test_unknown_pack_and_provider_config(api: Api) -> None:
    async with client(api.app, api.alice_key) as alice:
        r = await alice.post("/v1/payments/orders", json={"pack": "huge"})
        assert r.status_code == 422 and r.json()["error"]["details"]["packs"] == [
            "starter",
            "studio",
        ]
        packs = (await alice.get("/v1/payments/packs")).json()
        assert packs["starter"]["credits"] == STARTER
    assert API_KEY  # the fake and the app share the merchant's key
