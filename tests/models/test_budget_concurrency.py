"""No overspend under concurrency: 200 chat requests at once against one budget, and
against one small credit balance, on SQLite and PostgreSQL. Every request either runs
within what is left or is refused with 402 before reaching the provider."""

from __future__ import annotations

import asyncio

import pytest
from fastapi import FastAPI

from renderhouse import ledger
from renderhouse.ledger import budgets
from renderhouse.runtime import Runtime
from tests.models.api_fixtures import Keys, client, fake_of

pytestmark = pytest.mark.anyio
REQUESTS = 200
MAX_TOKENS = 10  # 1 credit a completion token on "flaky": each request holds 10


async def _storm(app: FastAPI, key: str) -> list[int]:
    for deployment in ("flaky#0", "flaky#1"):
        fake = fake_of(app, deployment)
        fake.reply = " ".join(["word"] * 50)  # always uses all of max_tokens
        fake.latency = 0.02
    body = {"model": "flaky", "messages": [{"role": "user", "content": "hi"}]}
    async with client(app, key) as c:
        responses = await asyncio.gather(
            *(
                c.post("/v1/chat/completions", json={**body, "max_tokens": MAX_TOKENS})
                for _ in range(REQUESTS)
            )
        )
    for r in responses:
        if r.status_code == 402:
            assert r.json()["error"]["type"] == "insufficient_quota"
    return [r.status_code for r in responses]


def _books_ok(runtime: Runtime) -> None:
    with runtime.store.read() as conn:
        report = ledger.reconcile(conn)
    assert report.ok, report.problems


async def test_one_budget_is_never_overspent(app: FastAPI, keys: Keys, runtime: Runtime) -> None:
    limit = 100
    with runtime.store.begin() as conn:
        budgets.set_budget(conn, keys.alice_id, "day", limit)
    statuses = await _storm(app, keys.alice)
    ok = statuses.count(200)
    assert statuses.count(402) == REQUESTS - ok
    assert 1 <= ok <= limit // MAX_TOKENS
    with runtime.store.read() as conn:
        status = budgets.budget_status(conn, keys.alice_id, "day")
        balance = ledger.balance(conn, keys.alice_id)
    assert status["held"] == 0 and status["spent"] == ok * MAX_TOKENS <= limit
    assert balance.held == 0 and balance.available == 1_000_000 - ok * MAX_TOKENS
    _books_ok(runtime)


async def test_credits_never_go_below_zero(app: FastAPI, keys: Keys, runtime: Runtime) -> None:
    with runtime.store.begin() as conn:
        ledger.grant(conn, keys.bob_id, 55, "a small balance")
    statuses = await _storm(app, keys.bob)
    ok = statuses.count(200)
    assert statuses.count(402) == REQUESTS - ok
    assert 1 <= ok <= 5
    with runtime.store.read() as conn:
        balance = ledger.balance(conn, keys.bob_id)
    assert balance.held == 0 and balance.available == 55 - ok * MAX_TOKENS >= 0
    _books_ok(runtime)
