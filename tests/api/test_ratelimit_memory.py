"""The in-process rate-limit storage: exact limits under threads, windows that slide and
expire, no thread per request, memory bounded by the live windows."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from limits import parse
from limits.strategies import SlidingWindowCounterRateLimiter

from renderhouse.api import ratelimit_memory
from renderhouse.api.ratelimit_memory import LazyMemoryStorage


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock(1_000_040.0)  # 20 s into a minute
    monkeypatch.setattr(ratelimit_memory.time, "time", c)
    import limits.strategies

    monkeypatch.setattr(limits.strategies.time, "time", c)
    return c


def test_admits_exactly_the_limit_from_many_threads(clock: Clock) -> None:
    limiter = SlidingWindowCounterRateLimiter(LazyMemoryStorage())
    item = parse("500/minute")
    with ThreadPoolExecutor(16) as pool:
        admitted = sum(pool.map(lambda _: limiter.hit(item, "user", "u1"), range(2000)))
    assert admitted == 500
    assert limiter.get_window_stats(item, "user", "u1").remaining == 0


def test_window_slides_and_keys_expire(clock: Clock) -> None:
    storage = LazyMemoryStorage()
    limiter = SlidingWindowCounterRateLimiter(storage)
    item = parse("10/minute")
    assert all(limiter.hit(item, "user", "u1") for _ in range(10))
    assert not limiter.hit(item, "user", "u1")
    clock.now += 60  # next window: the previous one still weighs 2/3
    assert sum(limiter.hit(item, "user", "u1") for _ in range(10)) == 4  # floor(6.67 + 3) < 10
    clock.now += 121  # both windows gone
    assert limiter.hit(item, "user", "u2")
    assert set(storage._counts) == {next(k for k in storage._counts if "u2" in k)}
    assert len(storage._expires) == 1


def test_starts_no_thread_per_hit(monkeypatch: pytest.MonkeyPatch) -> None:
    limiter = SlidingWindowCounterRateLimiter(LazyMemoryStorage())
    item = parse("100000/minute")
    before = threading.active_count()
    started = 0
    real_start = threading.Thread.start

    def counting_start(self: threading.Thread) -> None:
        nonlocal started
        started += 1
        real_start(self)

    monkeypatch.setattr(threading.Thread, "start", counting_start)
    for i in range(300):
        assert limiter.hit(item, "user", f"u{i % 7}")
    assert started == 0
    assert threading.active_count() == before


def test_cost_over_the_limit_is_refused_and_clear_resets() -> None:
    storage = LazyMemoryStorage()
    limiter = SlidingWindowCounterRateLimiter(storage)
    item = parse("5/minute")
    assert not limiter.hit(item, "k", cost=6)
    assert limiter.hit(item, "k", cost=5)
    assert not limiter.test(item, "k")
    limiter.clear(item, "k")
    assert limiter.test(item, "k")
    assert storage.reset() is not None
