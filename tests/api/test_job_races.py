"""State-changing job routes under concurrency (issue 14): the losers of a race get 409,
never 500, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import threading

import httpx
import pytest

from renderhouse.errors import Conflict
from renderhouse.runtime import Runtime

pytestmark = pytest.mark.anyio


async def _cancelled_job(alice: httpx.AsyncClient) -> str:
    jid = (await alice.post("/v1/jobs", json={"kind": "noop"})).json()["id"]
    assert (await alice.post(f"/v1/jobs/{jid}/cancel")).status_code == 200
    return str(jid)


async def test_concurrent_retries_one_wins_the_rest_conflict(alice: httpx.AsyncClient) -> None:
    for _ in range(6):
        jid = await _cancelled_job(alice)
        answers = await asyncio.gather(*(alice.post(f"/v1/jobs/{jid}/retry") for _ in range(8)))
        statuses = sorted(r.status_code for r in answers)
        assert statuses == [200] + [409] * 7, [r.text for r in answers]
        for r in answers:
            if r.status_code == 409:
                assert r.json()["error"]["code"] == "conflict"


async def test_concurrent_cancel_and_retry_never_500(alice: httpx.AsyncClient) -> None:
    for _ in range(6):
        jid = await _cancelled_job(alice)
        calls = [alice.post(f"/v1/jobs/{jid}/{'retry' if i % 2 else 'cancel'}") for i in range(8)]
        answers = await asyncio.gather(*calls)
        assert {r.status_code for r in answers} <= {200, 409}, [r.text for r in answers]
        retries = [r for i, r in enumerate(answers) if i % 2]
        assert sum(r.status_code == 200 for r in retries) >= 1, "a retry must win once"
        final = (await alice.get(f"/v1/jobs/{jid}")).json()["state"]
        assert final in ("queued", "cancelled")


def test_retry_that_loses_a_row_lock_race_conflicts(runtime: Runtime) -> None:
    """The exact interleaving: another transaction retries the job while this retry waits
    for the row (PostgreSQL re-checks the guard and matches nothing)."""
    from renderhouse.queue import control
    from renderhouse.queue.enqueue import NewJob

    q = runtime.queue
    job = q.enqueue(NewJob("noop", {}))[0]
    q.cancel(job.id)
    store = runtime.store
    holding, release = threading.Event(), threading.Event()

    def first() -> None:
        with store.begin() as conn:
            control.retry(conn, store.dialect, job.id, q.clock.now())
            holding.set()
            release.wait(10)

    t = threading.Thread(target=first)
    t.start()
    assert holding.wait(10)
    threading.Timer(0.3, release.set).start()
    with pytest.raises(Conflict) as err:
        q.retry(job.id)
    t.join(10)
    assert err.value.details["state"] == "queued"
