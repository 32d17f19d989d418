"""Budgets through real workers (as ``renderhouse worker`` builds them), with generators
that call a paid OpenAI-style API served locally: concurrent jobs overshoot a budget by at
most one call, an exhausted budget fails a job once (no retries), and a call killed in
flight is settled at its estimate by the hold-expiry duty. On both databases."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy import select

from renderhouse import accounts, ledger
from renderhouse.generators.base import Registry
from renderhouse.generators.testing import ChatGenerator, ChatInlineGenerator
from renderhouse.ledger.budgets import budget_status
from renderhouse.queue.enqueue import NewJob
from renderhouse.queue.jobs import TERMINAL
from renderhouse.runtime import Runtime
from renderhouse.settings import Settings
from renderhouse.store.schema_ledger import budget_holds
from tests.integration.running import running, wait_until
from tests.ledger.fake_openai import running_fake_openai

KINDS = ["test.chat", "test.chat_inline"]
PROMPT, MAX_TOKENS = "Say hello.", 50
CALL_MAX = len(PROMPT) + MAX_TOKENS  # what each call holds (price 1 per token)
CALL_COST = len(PROMPT.split()) + 40  # what the fake provider bills for one
LIMIT = 1_000


def runtime(db_url: str, tmp_path: Path, **settings: Any) -> Runtime:
    rt = Runtime(
        Settings(database_url=db_url, data_dir=tmp_path / "data", poll_seconds=0.1, **settings)
    )
    rt.__dict__["registry"] = Registry([ChatGenerator, ChatInlineGenerator])
    return rt


def chat(
    base_url: str,
    owner: str,
    kind: str = "test.chat",
    attempts: int = 3,
    priority: int = 0,
    **input: Any,
) -> NewJob:
    body = {"base_url": base_url, "prompt": PROMPT, "max_tokens": MAX_TOKENS, **input}
    return NewJob(kind, body, owner=owner, max_attempts=attempts, priority=priority)


def test_concurrent_jobs_overshoot_a_budget_by_at_most_one_call(
    db_url: str, tmp_path: Path
) -> None:
    with running_fake_openai() as fake:
        rts = [runtime(db_url, tmp_path / str(i)) for i in range(2)]
        rt = rts[0]
        try:
            with rt.store.begin() as conn:
                alice = accounts.create_user(conn, "alice").id
                ledger.set_budget(conn, alice, "day", LIMIT)
            # 46 calls that would cost about 1,900 in all; the budget lets about 11 through.
            # The first job needs one call and is claimed first, so one job surely succeeds
            # however the six running at once interleave (five-call jobs sharing the budget
            # evenly could otherwise all run out part-way).
            first = chat(fake.url, alice, KINDS[0], calls=1, priority=1)
            rest = [chat(fake.url, alice, KINDS[i % 2], calls=5) for i in range(1, 10)]
            ids = [rt.queue.enqueue(nj)[0].id for nj in [first, *rest]]
            workers = [r.worker(KINDS, 3, maintenance=i == 0) for i, r in enumerate(rts)]
            with running(workers[0]), running(workers[1]):
                wait_until(
                    lambda: all(rt.queue.get(i).state in TERMINAL for i in ids),
                    timeout=120,
                    what="every job to end",
                )
            jobs = [rt.queue.get(i) for i in ids]
            with rt.store.read() as conn:
                day = budget_status(conn, alice, "day")
                month = budget_status(conn, alice, "month")
                provider = budget_status(conn, "provider:openai", "day")
        finally:
            for r in rts:
                r.close()
    assert day["held"] == 0 and LIMIT - 6 * CALL_MAX < day["spent"] <= LIMIT + CALL_MAX
    # Every call was settled at what the provider billed for it, under every key it drew on.
    assert day["spent"] == month["spent"] == provider["spent"] == fake.billed_tokens
    assert fake.billed_tokens == fake.requests * CALL_COST
    failed = [j for j in jobs if j.state == "failed"]
    succeeded = [j for j in jobs if j.state == "succeeded"]
    assert failed and succeeded and len(failed) + len(succeeded) == len(jobs)
    assert {(j.error_code, j.attempt) for j in failed} == {("budget_exhausted", 1)}
    # each finished job was billed for exactly its own calls
    assert all(j.result and j.result["spent"] == j.input["calls"] * CALL_COST for j in succeeded)


def test_a_used_up_budget_fails_jobs_once_and_refunds_their_credits(
    db_url: str, tmp_path: Path
) -> None:
    with running_fake_openai() as fake:
        rt = runtime(db_url, tmp_path)
        try:
            with rt.store.begin() as conn:
                alice = accounts.create_user(conn, "alice", org="acme").id
                ledger.grant(conn, alice, 100, "funds")
                ledger.set_budget(conn, "org:acme", "month", 0)
                ids = [
                    ledger.enqueue_paid(
                        rt.queue, conn, replace(chat(fake.url, alice, kind), cost_estimated=30)
                    )[0].id
                    for kind in KINDS  # in a pool child and on the worker's event loop
                ]
            with running(rt.worker(KINDS, 2, maintenance=False)):
                wait_until(
                    lambda: all(rt.queue.get(i).state in TERMINAL for i in ids),
                    what="both jobs to end",
                )
            jobs = [rt.queue.get(i) for i in ids]
            with rt.store.read() as conn:
                credits = ledger.balance(conn, alice)
                report = ledger.reconcile(conn)
        finally:
            rt.close()
    assert [(j.kind, j.state, j.error_code, j.attempt) for j in jobs] == [
        (kind, "failed", "budget_exhausted", 1) for kind in KINDS
    ]
    assert "org:acme" in (jobs[0].error_message or "")
    assert fake.requests == 0
    assert (credits.available, credits.held) == (100, 0) and report.ok, report.problems


def test_a_call_killed_in_flight_is_settled_at_its_estimate_by_the_duty(
    db_url: str, tmp_path: Path
) -> None:
    with running_fake_openai() as fake:
        rt = runtime(db_url, tmp_path, budget_hold_seconds=1.0)
        try:
            with rt.store.begin() as conn:
                alice = accounts.create_user(conn, "alice").id
            job, _ = rt.queue.enqueue(chat(fake.url, alice, attempts=1, crash_in_call=True))
            with running(rt.worker(["test.chat"], 1, maintenance=True)):
                wait_until(lambda: rt.queue.get(job.id).state == "failed", what="the crash")

                def holds() -> list[Any]:
                    with rt.store.read() as conn:
                        return conn.execute(select(budget_holds)).all()

                wait_until(
                    lambda: all(h.state == "settled" for h in holds()),
                    timeout=20,
                    what="the hold-expiry duty",
                )
            with rt.store.read() as conn:
                status = budget_status(conn, alice, "day")
            found, ended = holds(), rt.queue.get(job.id)
        finally:
            rt.close()
    assert ended.error_code == "worker_crashed"
    assert fake.requests == 1  # the provider was paid for the call whose answer was lost
    assert (status["spent"], status["held"]) == (CALL_MAX, 0)
    assert fake.billed_tokens <= CALL_MAX
    assert len(found) == 4  # alice and provider:openai, day and month
    assert all(h.actual == h.amount == CALL_MAX for h in found)
    assert all(h.settled_at >= h.created_at + 1.0 for h in found)  # expired, not settled
