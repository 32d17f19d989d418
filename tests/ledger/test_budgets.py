"""Budgets for paid API calls: hold the maximum before, settle after, overshoot bounded by
one in-flight call per key, on both databases."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from renderhouse import ledger
from renderhouse.ledger.budgets import budget_status, expire_holds
from renderhouse.store.database import Store

DAY0 = 1_800_000_000.0  # 2027-01-15 08:00 UTC


def test_holds_fit_under_the_limit_and_settle_once(store: Store) -> None:
    with store.begin() as conn:
        ledger.set_budget(conn, "u1", "day", 100)
        a = ledger.reserve_budget(conn, "u1", "day", 60, now=DAY0)
        b = ledger.reserve_budget(conn, "u1", "day", 40, now=DAY0)
    with pytest.raises(ledger.BudgetExhausted) as info, store.begin() as conn:
        ledger.reserve_budget(conn, "u1", "day", 1, now=DAY0)
    assert info.value.http_status == 402 and info.value.code == "budget_exhausted"
    assert info.value.details["held"] == 100
    with store.begin() as conn:
        ledger.settle_budget(conn, a.id, 25, now=DAY0)
        again = ledger.settle_budget(conn, a.id, 60, now=DAY0)
        assert again.actual == 25 and again.state == "settled"
        ledger.settle_budget(conn, b.id, 0, now=DAY0)
        status = budget_status(conn, "u1", "day", now=DAY0)
    assert (status["spent"], status["held"], status["remaining"]) == (25, 0, 75)
    with store.begin() as conn:  # the next day starts afresh; the month has no cap
        assert ledger.reserve_budget(conn, "u1", "day", 100, now=DAY0 + 86_400).amount == 100
        assert ledger.reserve_budget(conn, "u1", "month", 10**9, now=DAY0).amount == 10**9


def test_a_lone_call_may_finish_the_budget_but_only_one(store: Store) -> None:
    with store.begin() as conn:
        ledger.set_budget(conn, "u1", "month", 50)
        ledger.settle_budget(conn, ledger.reserve_budget(conn, "u1", "month", 45).id, 45)
        last = ledger.reserve_budget(conn, "u1", "month", 30)  # only 5 left, nothing in flight
    with pytest.raises(ledger.BudgetExhausted), store.begin() as conn:
        ledger.reserve_budget(conn, "u1", "month", 1)
    with store.begin() as conn:
        ledger.settle_budget(conn, last.id, 30)
    with pytest.raises(ledger.BudgetExhausted), store.begin() as conn:
        ledger.reserve_budget(conn, "u1", "month", 1)


def test_concurrent_callers_overshoot_by_at_most_one_call(db_url: str) -> None:
    store = Store(db_url, pool_size=16)
    limit, call_max = 1_000, 70
    try:
        with store.begin() as conn:
            ledger.set_budget(conn, "org:acme", "day", limit)
        gate = threading.Barrier(16)

        def caller(_: int) -> int:
            gate.wait()
            made = 0
            while True:
                try:
                    with store.begin() as conn:
                        hold = ledger.reserve_budget(conn, "org:acme", "day", call_max)
                except ledger.BudgetExhausted:
                    return made
                with store.begin() as conn:  # the paid call happened and cost its maximum
                    ledger.settle_budget(conn, hold.id, call_max)
                made += 1

        with ThreadPoolExecutor(16) as pool:
            calls = sum(pool.map(caller, range(16)))
        with store.read() as conn:
            status = budget_status(conn, "org:acme", "day")
        assert status["held"] == 0 and status["spent"] == calls * call_max
        assert limit <= status["spent"] <= limit + call_max
    finally:
        store.dispose()


def test_abandoned_holds_expire_at_their_maximum(store: Store) -> None:
    with store.begin() as conn:
        ledger.set_budget(conn, "u1", "day", 100)
        ledger.reserve_budget(conn, "u1", "day", 80, now=DAY0)
        assert expire_holds(conn, older_than=DAY0 + 1, now=DAY0 + 2) == 1
        assert budget_status(conn, "u1", "day", now=DAY0)["spent"] == 80
        ledger.set_budget(conn, "u1", "day", None)
        assert budget_status(conn, "u1", "day", now=DAY0)["limit"] is None
