"""No overdraft under concurrency: 1,000 paid enqueues race for a balance that covers 100."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from renderhouse import ledger
from renderhouse.queue.enqueue import NewJob
from renderhouse.queue.queue import JobQueue
from renderhouse.store.database import Store
from renderhouse.store.schema import jobs
from renderhouse.store.schema_ledger import credit_accounts
from tests.ledger.conftest import assert_books_clean

ATTEMPTS, AFFORDABLE, PRICE = 1000, 100, 7


def test_thousand_concurrent_paid_enqueues_never_overdraw(db_url: str) -> None:
    store = Store(db_url, pool_size=24)
    queue = ledger.install(JobQueue(store))
    try:
        with store.begin() as conn:
            ledger.grant(conn, "alice", AFFORDABLE * PRICE, "test funds")
        start = threading.Barrier(48)
        samples: list[int] = []
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                with store.read() as conn:
                    samples.append(ledger.balance(conn, "alice").available)

        def one(i: int) -> bool:
            if i < 48:
                start.wait()
            try:
                with store.begin() as conn:
                    nj = NewJob("noop", {"i": i}, owner="alice", cost_estimated=PRICE)
                    ledger.enqueue_paid(queue, conn, nj)
                return True
            except ledger.InsufficientCredits:
                return False

        sampler = threading.Thread(target=sample)
        sampler.start()
        with ThreadPoolExecutor(48) as pool:
            accepted = sum(pool.map(one, range(ATTEMPTS)))
        done.set()
        sampler.join()

        assert accepted == AFFORDABLE
        with store.read() as conn:
            assert conn.execute(select(func.count()).select_from(jobs)).scalar_one() == AFFORDABLE
            b = ledger.balance(conn, "alice")
        assert (b.available, b.held) == (0, AFFORDABLE * PRICE)
        assert samples and min(samples) >= 0
        report = assert_books_clean(store)
        assert report.paid_jobs == AFFORDABLE
        # The CHECK constraint is the last line of defence: a raw overdraft is refused.
        with pytest.raises(IntegrityError), store.engine.begin() as conn:
            conn.execute(update(credit_accounts).values(available=credit_accounts.c.available - 1))
    finally:
        store.dispose()
