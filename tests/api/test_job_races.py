"""State-changing job routes under concurrency (issue 14): the losers of a race get 409,
never 500, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx
import pytest

from renderhouse.errors import Conflict
from renderhouse.runtime import Runtime
from tests.integration.running import wait_until

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
    from sqlalchemy import text

    from renderhouse.queue import control
    from renderhouse.queue.enqueue import NewJob

    q = runtime.queue
    job = q.enqueue(NewJob("noop", {}))[0]
    q.cancel(job.id)
    store = runtime.store
    holding, release = threading.Event(), threading.Event()
    outcomes: list[BaseException | None] = []

    def first() -> None:
        with store.begin() as conn:
            control.retry(conn, store.dialect, job.id, q.clock.now())
            holding.set()
            release.wait(10)

    def second() -> None:
        try:
            q.retry(job.id)
            outcomes.append(None)
        except BaseException as exc:  # reported by the assertion below, not by the thread
            outcomes.append(exc)

    winner = threading.Thread(target=first)
    winner.start()
    assert holding.wait(10)
    loser = threading.Thread(target=second)
    loser.start()
    if not store.is_sqlite:  # let the loser reach the row lock before the winner commits
        waiting = text(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        wait_until(lambda: _scalar(store, waiting) >= 1, what="the second retry to wait")
    release.set()
    winner.join(10)
    loser.join(10)
    [outcome] = outcomes
    assert isinstance(outcome, Conflict), outcome
    assert outcome.details["state"] == "queued"


def _scalar(store: Any, stmt: Any) -> int:
    with store.read() as conn:
        return int(conn.execute(stmt).scalar_one())
