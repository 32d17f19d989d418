"""The budget routes and the 402 of a paid-API job whose budget is used up, through the real
app in-process; and ``renderhouse budgets`` through the CLI runner. On both databases."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from renderhouse import accounts, ledger
from renderhouse.cli import main
from renderhouse.generators.base import Registry
from renderhouse.generators.noop import NoopGenerator
from renderhouse.generators.testing import ChatGenerator
from renderhouse.ledger.metering import BudgetMeter
from renderhouse.store.database import Store
from tests.ledger.conftest import Api, client


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def spend(api: Api, amount: int, provider: str | None = None) -> None:
    """One paid call of ``amount`` by alice, as a generator of hers would make it."""
    meter = BudgetMeter(api.runtime.store, api.alice_id)
    meter.settle(meter.reserve(amount, provider), amount)


def error_of(body: dict[str, Any]) -> dict[str, Any]:
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    return body["error"]


@pytest.mark.anyio
async def test_admin_sets_lists_and_removes_budgets(api: Api) -> None:
    async with client(api.app, api.admin_key) as admin, client(api.app, api.alice_key) as alice:
        r = await admin.put(f"/v1/admin/budgets/{api.alice_id}/day", json={"limit": 500})
        assert r.status_code == 200, r.text
        assert {k: v for k, v in r.json().items() if k != "window"} == {
            "key": api.alice_id, "period": "day", "limit": 500,
            "spent": 0, "held": 0, "remaining": 500,
        }  # fmt: skip
        r = await admin.put("/v1/admin/budgets/provider:openai/month", json={"limit": 10_000})
        assert r.status_code == 200, r.text
        spend(api, 120, provider="openai")
        listing = (await admin.get("/v1/admin/budgets")).json()["data"]
        assert [(b["key"], b["period"], b["spent"], b["remaining"]) for b in listing] == [
            ("provider:openai", "month", 120, 9_880),
            (api.alice_id, "day", 120, 380),
        ]
        mine = (await alice.get("/v1/budgets")).json()["data"]
        assert [(b["key"], b["period"], b["limit"], b["spent"]) for b in mine] == [
            (api.alice_id, "day", 500, 120),
            (api.alice_id, "month", None, 120),  # no cap, but tracked
        ]
        for _ in range(2):  # removing is idempotent
            gone = await admin.delete(f"/v1/admin/budgets/{api.alice_id}/day")
            assert gone.status_code == 204 and gone.content == b""
        listing = (await admin.get("/v1/admin/budgets")).json()["data"]
        assert [b["key"] for b in listing] == ["provider:openai"]


@pytest.mark.anyio
async def test_admin_routes_refuse_everyone_else(api: Api) -> None:
    with api.runtime.store.begin() as conn:  # an admin, but calling with a user-scoped key
        root = accounts.find_user(conn, "root")
        root_user_key = accounts.create_key(conn, root, scope="user")
    for key in (api.alice_key, root_user_key):
        async with client(api.app, key) as caller:
            for method, body in (("PUT", {"limit": 1}), ("DELETE", None)):
                r = await caller.request(method, "/v1/admin/budgets/org:acme/day", json=body)
                assert r.status_code == 403, r.text
                assert error_of(r.json())["code"] == "forbidden"
            assert (await caller.get("/v1/admin/budgets")).status_code == 403
    async with client(api.app) as anonymous:
        r = await anonymous.get("/v1/budgets")
        assert r.status_code == 401 and error_of(r.json())["code"] == "unauthorized"
    with api.runtime.store.read() as conn:
        assert ledger.budgets.list_budgets(conn) == []


@pytest.mark.anyio
async def test_bad_budgets_are_422(api: Api) -> None:
    async with client(api.app, api.admin_key) as admin:
        for path, body in (
            ("/v1/admin/budgets/org:acme/week", {"limit": 1}),
            ("/v1/admin/budgets/org:acme/day", {"limit": -1}),
            ("/v1/admin/budgets/org:acme/day", {}),
            ("/v1/admin/budgets/not a key!/day", {"limit": 1}),
        ):
            r = await admin.put(path, json=body)
            assert r.status_code == 422, (path, r.text)
            assert error_of(r.json())["code"] == "invalid_request"


@pytest.mark.anyio
async def test_a_paid_api_job_is_402_while_its_budget_is_used_up(api: Api) -> None:
    api.runtime.__dict__["registry"] = Registry([NoopGenerator, ChatGenerator])
    job = {"kind": "test.chat", "input": {"base_url": "http://127.0.0.1:9"}}
    async with client(api.app, api.admin_key) as admin, client(api.app, api.alice_key) as alice:
        await admin.put(f"/v1/admin/budgets/{api.alice_id}/day", json={"limit": 100})
        spend(api, 60)
        assert (await alice.post("/v1/jobs", json=job)).status_code == 201  # 40 left
        spend(api, 40)
        refused = await alice.post("/v1/jobs", json=job)
        assert refused.status_code == 402, refused.text
        error = error_of(refused.json())
        assert error["code"] == "budget_exhausted"
        assert "raise the budget" in error["message"]
        assert {k: v for k, v in error["details"].items() if k != "window"} == {
            "key": api.alice_id, "period": "day", "limit": 100, "spent": 100, "held": 0,
        }  # fmt: skip
        free = await alice.post("/v1/jobs", json={"kind": "noop", "input": {}})
        assert free.status_code == 201  # kinds that make no paid calls are not held back
        await admin.delete(f"/v1/admin/budgets/{api.alice_id}/day")
        await admin.put("/v1/admin/budgets/provider:openai/day", json={"limit": 0})
        refused = await alice.post("/v1/jobs", json=job)
        assert refused.status_code == 402
        assert error_of(refused.json())["details"]["key"] == "provider:openai"
        await admin.delete("/v1/admin/budgets/provider:openai/day")
        assert (await alice.post("/v1/jobs", json=job)).status_code == 201
    jobs = api.runtime.queue.list_jobs(owner=api.alice_id)
    assert sorted(j.kind for j in jobs) == ["noop", "test.chat", "test.chat"]


def test_cli_sets_and_shows_budgets(store: Store, db_url: str) -> None:
    with store.begin() as conn:
        alice = accounts.create_user(conn, "alice", org="acme")
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(main, ["--database-url", db_url, "budgets", *args])
        assert result.exit_code == code, result.output
        return result.output

    assert "no budgets set" in run("show")
    assert alice.id in run("set", "alice", "day", "300")
    run("set", "org:acme", "month", "5000")
    BudgetMeter(store, alice.id).settle(BudgetMeter(store, alice.id).reserve(70, None), 70)
    rows = json.loads(run("show", "--json"))
    assert [(r["key"], r["period"], r["limit"], r["spent"]) for r in rows] == [
        ("org:acme", "month", 5000, 70),
        (alice.id, "day", 300, 70),
    ]
    mine = json.loads(run("show", "alice", "--json"))
    assert [(r["period"], r["limit"], r["remaining"]) for r in mine] == [
        ("day", 300, 230),
        ("month", None, None),
    ]
    run("set", "org:acme", "month", "none")
    assert [r["key"] for r in json.loads(run("show", "--json"))] == [alice.id]
    assert "whole number" in run("set", "alice", "day", "lots", code=2)
    assert "no user" in run("set", "mallory", "day", "1", code=2)
    assert "-" in run("show", "mallory", "--raw")  # any key may be looked at
