"""``POST /v1/jobs`` with an ``Idempotency-Key`` through the submit lane: on PostgreSQL the
lane serves keyed requests itself (the event loop's enqueue looks the key up in its batch's
transaction), elsewhere they take the route. Either way one key makes one job, one
reservation, and a replay answers 200 with that job whatever else is going on."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI

from renderhouse import ledger
from renderhouse.runtime import Runtime
from renderhouse.settings import Settings
from tests.api.conftest import Users, assert_error, client_for
from tests.api.test_submit_lane import (
    LANE_THREAD,
    PRICE,
    PROBE,
    ROUTE_THREAD,
    _generators,  # noqa: F401 (the autouse fixture that registers probe and priced)
    _job_count,
    _no_credit_user,
    queue_of_two,
    reset,
    served_by,
)

pytestmark = pytest.mark.anyio


def _keyed_by(rt: Runtime) -> str:
    return LANE_THREAD if rt.store.dialect.name == "postgresql" else ROUTE_THREAD


def _key(value: str) -> dict[str, str]:
    return {"Idempotency-Key": value}


async def test_one_key_sent_concurrently_makes_one_paid_job(
    alice: httpx.AsyncClient, runtime: Runtime, users: Users
) -> None:
    await alice.post("/v1/jobs", json=PROBE)  # caches the key (and the queue depth)
    reset(runtime)
    with runtime.store.read() as conn:
        before = ledger.balance(conn, users.alice_id)
    body = {"kind": "priced", "input": {"message": "once"}}
    results = await asyncio.gather(
        *(alice.post("/v1/jobs", json=body, headers=_key("same")) for _ in range(12))
    )
    codes = sorted(r.status_code for r in results)
    assert codes == [200] * 11 + [201], [r.text for r in results]
    assert len({r.json()["id"] for r in results}) == 1
    assert all(r.json() == results[0].json() for r in results)
    assert _job_count(runtime, users.alice_id) == 2
    with runtime.store.read() as conn:
        after = ledger.balance(conn, users.alice_id)
    assert (after.held - before.held, before.available - after.available) == (PRICE, PRICE)
    assert set(served_by(runtime, "priced")) == {_keyed_by(runtime)}


async def test_new_keys_and_replays_together(
    alice: httpx.AsyncClient, runtime: Runtime, users: Users
) -> None:
    """Replays and new keys arriving together (one batch on PostgreSQL): each gets its own
    answer, and a replay writes nothing."""
    await alice.post("/v1/jobs", json=PROBE)
    first = {k: await alice.post("/v1/jobs", json=PROBE, headers=_key(k)) for k in ("a", "b", "c")}
    assert {r.status_code for r in first.values()} == {201}
    calls = [alice.post("/v1/jobs", json=PROBE, headers=_key(k)) for k in ("a", "b", "c")]
    calls += [alice.post("/v1/jobs", json=PROBE, headers=_key(f"new-{i}")) for i in range(5)]
    calls += [alice.post("/v1/jobs", json=PROBE) for _ in range(3)]
    results = await asyncio.gather(*calls)
    assert [r.status_code for r in results] == [200] * 3 + [201] * 8, [r.text for r in results]
    for r, k in zip(results[:3], ("a", "b", "c"), strict=True):
        assert r.json() == first[k].json()
    assert len({r.json()["id"] for r in results[3:]}) == 8
    assert _job_count(runtime, users.alice_id) == 1 + 3 + 8
    assert served_by(runtime)[-11:].count(ROUTE_THREAD) == (
        0 if runtime.store.dialect.name == "postgresql" else 8
    )


async def test_key_length_and_conflicting_bodies(
    alice: httpx.AsyncClient, runtime: Runtime
) -> None:
    await alice.post("/v1/jobs", json=PROBE)
    reset(runtime)
    too_long = await alice.post("/v1/jobs", json=PROBE, headers=_key("k" * 256))
    err = assert_error(too_long, 422, "invalid_request")
    assert "idempotency-key" in err["message"].lower()
    longest = await alice.post("/v1/jobs", json=PROBE, headers=_key("k" * 255))
    assert longest.status_code == 201, longest.text
    assert served_by(runtime) == [_keyed_by(runtime)]  # the 256-character key never parsed
    other = await alice.post(
        "/v1/jobs", json={"kind": "probe", "priority": 7}, headers=_key("k" * 255)
    )
    assert (
        assert_error(other, 409, "idempotency_conflict")["details"]["job_id"]
        == (longest.json()["id"])
    )


async def test_refused_key_leaves_no_trace(app: FastAPI, runtime: Runtime) -> None:
    """A keyed job refused for want of credits does not claim its key: once paid for, the
    same key makes the job."""
    carol_id, carol_key = _no_credit_user(runtime)
    async with client_for(app, carol_key) as carol:
        assert (await carol.post("/v1/jobs", json=PROBE)).status_code == 201
        paid = {"kind": "priced"}
        for _ in range(2):
            r = await carol.post("/v1/jobs", json=paid, headers=_key("pay-me"))
            assert_error(r, 402, "insufficient_credits")
        with runtime.store.begin() as conn:
            ledger.grant(conn, carol_id, PRICE, reason="test top-up")
        made = await carol.post("/v1/jobs", json=paid, headers=_key("pay-me"))
        assert made.status_code == 201, made.text
        again = await carol.post("/v1/jobs", json=paid, headers=_key("pay-me"))
        assert (again.status_code, again.json()["id"]) == (200, made.json()["id"])
    assert _job_count(runtime, carol_id) == 2
    with runtime.store.read() as conn:
        balance = ledger.balance(conn, carol_id)
    assert (balance.available, balance.held) == (0, PRICE)
    assert set(served_by(runtime, "priced")) == {_keyed_by(runtime)}


async def test_replay_when_the_queue_is_full(settings: Settings, users: Users) -> None:
    """A full queue refuses new jobs (503) but still answers a replay with its job."""
    async with queue_of_two(settings) as (_rt, app), client_for(app, users.alice) as alice:
        assert (await alice.post("/v1/jobs", json=PROBE)).status_code == 201
        made = await alice.post("/v1/jobs", json=PROBE, headers=_key("full-1"))
        assert made.status_code == 201, made.text
        refused = await alice.post("/v1/jobs", json=PROBE, headers=_key("full-2"))
        assert_error(refused, 503, "queue_full")
        again = await alice.post("/v1/jobs", json=PROBE, headers=_key("full-1"))
        assert (again.status_code, again.json()) == (200, made.json())
        assert len((await alice.get("/v1/jobs")).json()["data"]) == 2
