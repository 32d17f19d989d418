"""Hypothesis stateful test: any sequence of enqueue, claim, succeed, fail, cancel, lease
expiry, manual retry and grant keeps the books exact against an independent model, in
which every manual retry of a settled job pays its price again (or is refused)."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select

from renderhouse import ledger
from renderhouse.errors import StaleAttempt
from renderhouse.queue.clock import FakeClock
from renderhouse.queue.enqueue import NewJob
from renderhouse.queue.jobs import SUCCEEDED, TERMINAL
from renderhouse.queue.queue import JobQueue
from renderhouse.queue.rescuer import rescue
from renderhouse.queue.retry import RetryPolicy
from renderhouse.store.database import Store
from renderhouse.store.schema_ledger import ledger_entries
from tests.conftest import _truncate

ACCOUNT = "alice"


@dataclass
class Paid:
    reserved: int
    reported: int | None = None
    settled: bool = False
    """The latest round (a manual retry opens a new one)."""
    charged: int = 0
    """Posted over all rounds."""
    rounds: int = 1


def machine_for(store: Store) -> type[RuleBasedStateMachine]:
    class LedgerMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            _truncate(store)
            self.clock = FakeClock()
            self.queue = ledger.install(
                JobQueue(
                    store, clock=self.clock, policy=RetryPolicy(base=1, jitter=0), lease_seconds=10
                )
            )
            self.funded = 0
            self.jobs: dict[str, Paid] = {}

        def _available(self) -> int:
            held = sum(j.reserved for j in self.jobs.values() if not j.settled)
            return self.funded - held - sum(j.charged for j in self.jobs.values())

        def _running(self) -> list[str]:
            return [j.id for j in self.queue.list_jobs(state="running", limit=1000)]

        @rule(amount=st.integers(1, 60))
        def grant(self, amount: int) -> None:
            with store.begin() as conn:
                ledger.grant(conn, ACCOUNT, amount, "hypothesis")
            self.funded += amount

        @rule(cost=st.integers(0, 30), attempts=st.integers(1, 3))
        def enqueue(self, cost: int, attempts: int) -> None:
            nj = NewJob("noop", {}, owner=ACCOUNT, cost_estimated=cost, max_attempts=attempts)
            try:
                with store.begin() as conn:
                    job, _ = ledger.enqueue_paid(self.queue, conn, nj)
            except ledger.InsufficientCredits:
                assert cost > self._available()
                return
            assert cost <= self._available() or cost == 0
            self.jobs[job.id] = Paid(cost)

        @rule()
        def claim(self) -> None:
            self.clock.advance(5)
            self.queue.claim(["noop"], 1, "w")

        @rule(data=st.data(), cost=st.one_of(st.none(), st.integers(0, 40)))
        def succeed(self, data: st.DataObject, cost: int | None) -> None:
            running = self._running()
            if running:
                job = self.queue.get(data.draw(st.sampled_from(running)))
                self.jobs[job.id].reported = cost
                self.queue.complete(job.id, job.attempt, {}, cost=cost)

        @rule(data=st.data(), retryable=st.booleans())
        def fail(self, data: st.DataObject, retryable: bool) -> None:
            running = self._running()
            if running:
                job = self.queue.get(data.draw(st.sampled_from(running)))
                self.queue.fail(job.id, job.attempt, "boom", "x", retryable=retryable)

        @rule(data=st.data())
        def cancel(self, data: st.DataObject) -> None:
            if self.jobs:
                job_id = data.draw(st.sampled_from(sorted(self.jobs)))
                job = self.queue.cancel(job_id)
                if job.state == "running" and data.draw(st.booleans()):
                    self.queue.cancel_running(job.id, job.attempt)

        @rule()
        def expire_leases(self) -> None:
            self.clock.advance(30)
            rescue(self.queue)

        @rule(data=st.data())
        def retry(self, data: st.DataObject) -> None:
            ended = [i for i in sorted(self.jobs) if self.queue.get(i).state in TERMINAL]
            ended = [i for i in ended if self.queue.get(i).state != SUCCEEDED]
            if not ended:
                return
            job_id = data.draw(st.sampled_from(ended))
            paid, before = self.jobs[job_id], self.queue.get(job_id)
            try:
                self.queue.retry(job_id)
            except ledger.InsufficientCredits:
                assert paid.reserved > self._available()
                assert self.queue.get(job_id) == before
                return
            assert paid.reserved <= self._available() or paid.reserved == 0
            paid.settled, paid.reported = False, None
            paid.rounds += 1

        @rule(data=st.data())
        def stale_completion(self, data: st.DataObject) -> None:
            if self.jobs:
                job = self.queue.get(data.draw(st.sampled_from(sorted(self.jobs))))
                try:
                    self.queue.complete(job.id, job.attempt - 1, {}, cost=1)
                except StaleAttempt:
                    pass

        @invariant()
        def books_match_the_model(self) -> None:
            for job_id, paid in self.jobs.items():
                job = self.queue.get(job_id)
                if job.state in TERMINAL and not paid.settled:
                    paid.settled = True
                    if job.state == SUCCEEDED:
                        actual = paid.reserved if paid.reported is None else paid.reported
                        paid.charged += min(actual, paid.reserved)
            with store.read() as conn:
                b = ledger.balance(conn, ACCOUNT)
                report = ledger.reconcile(conn)
            held = sum(j.reserved for j in self.jobs.values() if not j.settled)
            assert (b.available, b.held) == (self._available(), held)
            assert b.available >= 0
            assert report.ok, report.problems
            reserves = sum(p.rounds for p in self.jobs.values() if p.reserved > 0)
            with store.read() as conn:
                entries = conn.execute(
                    select(func.count()).where(ledger_entries.c.kind == "reserve")
                ).scalar_one()
            assert entries == reserves

    return LedgerMachine


def test_ledger_state_machine(store: Store) -> None:
    run_state_machine_as_test(
        machine_for(store),
        settings=settings(
            max_examples=30,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        ),
    )
