"""The credits routes and the 402 of a paid job, through the real app in-process."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from renderhouse.generators.base import Registry
from renderhouse.generators.noop import NoopGenerator
from tests.ledger.conftest import Api, client

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class PricedGenerator(NoopGenerator):
    kind: ClassVar[str] = "priced"

    def estimate_cost(self, input: Any) -> int:
        return 25


async def test_grant_balance_ledger_and_reconcile(api: Api) -> None:
    async with client(api.app, api.admin_key) as admin, client(api.app, api.alice_key) as alice:
        for amount in (10, 20, 30):
            r = await admin.post(
                "/v1/admin/credits", json={"user": "alice", "amount": amount, "reason": "promo"}
            )
            assert r.status_code == 200, r.text
        r = await admin.post(
            "/v1/admin/credits",
            json={"user": api.alice_id, "amount": -5, "reason": "typo", "kind": "adjustment"},
        )
        assert r.json() == {"account": api.alice_id, "available": 55, "held": 0}
        r = await admin.post(
            "/v1/admin/credits",
            json={"user": "alice", "amount": -500, "reason": "x", "kind": "adjustment"},
        )
        assert r.status_code == 402 and r.json()["error"]["code"] == "insufficient_credits"
        assert (await alice.get("/v1/credits")).json()["available"] == 55
        page = (await alice.get("/v1/credits/ledger", params={"limit": 3})).json()
        assert [e["amount"] for e in page["data"]] == [-5, 30, 20]
        rest = await alice.get("/v1/credits/ledger", params={"cursor": page["next_cursor"]})
        assert [e["amount"] for e in rest.json()["data"]] == [10]
        assert rest.json()["next_cursor"] is None
        forbidden = await alice.post(
            "/v1/admin/credits", json={"user": "alice", "amount": 1, "reason": "me"}
        )
        assert forbidden.status_code == 403
        report = (await admin.get("/v1/admin/credits/reconcile")).json()
        assert report["ok"] and report["available"] == 55


async def test_paid_job_reserves_and_402_when_short(api: Api) -> None:
    api.runtime.__dict__["registry"] = Registry([NoopGenerator, PricedGenerator])
    async with client(api.app, api.admin_key) as admin, client(api.app, api.alice_key) as alice:
        short = await alice.post("/v1/jobs", json={"kind": "priced", "input": {}})
        assert short.status_code == 402, short.text
        assert short.json()["error"]["code"] == "insufficient_credits"
        assert short.json()["error"]["details"]["needed"] == 25
        await admin.post("/v1/admin/credits", json={"user": "alice", "amount": 60, "reason": "t"})
        ok = await alice.post("/v1/jobs", json={"kind": "priced", "input": {}})
        assert ok.status_code == 201 and ok.json()["cost"]["reserved"] == 25
        again = await alice.post(
            "/v1/jobs", json={"kind": "priced", "input": {}}, headers={"Idempotency-Key": "k"}
        )
        replay = await alice.post(
            "/v1/jobs", json={"kind": "priced", "input": {}}, headers={"Idempotency-Key": "k"}
        )
        assert again.status_code == 201 and replay.status_code == 200
        assert (await alice.get("/v1/credits")).json() == {
            "account": api.alice_id, "available": 10, "held": 50,
        }  # fmt: skip
        cancelled = await alice.post(f"/v1/jobs/{ok.json()['id']}/cancel")
        assert cancelled.json()["state"] == "cancelled"
        assert (await alice.get("/v1/credits")).json()["available"] == 35
        assert (await admin.get("/v1/admin/credits/reconcile")).json()["ok"]
