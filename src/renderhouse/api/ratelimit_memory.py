"""Rate-limit counts of one process, for the ``limits`` library's sliding-window-counter
strategy, with no background thread.

``limits``' own in-memory storage expires keys with a ``threading.Timer`` of 10 ms that it
re-arms on every count once the previous one has fired: under load that started a thread
for nearly every API request (docs/benchmarks.md, LLM gateway). Here a key is checked for
expiry when it is read, and keys nobody reads again are dropped in expiry order from a
heap on later writes, so memory stays bounded by the keys of the live windows and no call
does more than O(log n) work. One lock makes each acquisition atomic (the API counts from
the event loop and from worker threads), so, unlike the library's increment-then-revert,
concurrent requests at a window's edge are neither over- nor under-admitted.

The counting itself follows the sliding window counter of ``limits``' strategy (two fixed
windows, the previous weighted by how much of it still overlaps the window ending now;
Cloudflare, "How we built rate limiting capable of scaling to millions of domains", 2017)."""

from __future__ import annotations

import heapq
import math
import threading
import time

from limits.storage import Storage
from limits.storage.base import SlidingWindowCounterSupport, TimestampedSlidingWindow


class LazyMemoryStorage(Storage, SlidingWindowCounterSupport, TimestampedSlidingWindow):
    STORAGE_SCHEME = None

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **_: object):
        super().__init__(uri, wrap_exceptions=wrap_exceptions)
        self._counts: dict[str, int] = {}
        self._expires: dict[str, float] = {}
        self._heap: list[tuple[float, str]] = []
        self._lock = threading.Lock()

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return ValueError

    # -- unlocked primitives (the caller holds the lock) --------------------------------

    def _get(self, key: str, now: float) -> int:
        expires = self._expires.get(key)
        if expires is None:
            return 0
        if expires <= now:
            del self._expires[key]
            self._counts.pop(key, None)
            return 0
        return self._counts.get(key, 0)

    def _incr(self, key: str, expiry: float, amount: int, now: float) -> int:
        self._drop_expired(now)
        count = self._get(key, now) + amount
        self._counts[key] = count
        if key not in self._expires:
            at = now + expiry
            self._expires[key] = at
            heapq.heappush(self._heap, (at, key))
        return count

    def _drop_expired(self, now: float) -> None:
        heap = self._heap
        while heap and heap[0][0] <= now:
            at, key = heapq.heappop(heap)
            if self._expires.get(key) == at:
                del self._expires[key]
                self._counts.pop(key, None)

    def _window(self, key: str, expiry: int, now: float) -> tuple[int, float, int, float]:
        previous_key, current_key = self.sliding_window_keys(key, expiry, now)
        previous = self._get(previous_key, now)
        current = self._get(current_key, now)
        previous_ttl = 0.0 if previous == 0 else (1 - (((now - expiry) / expiry) % 1)) * expiry
        current_ttl = (1 - ((now / expiry) % 1)) * expiry + expiry
        return previous, previous_ttl, current, current_ttl

    # -- Storage ------------------------------------------------------------------------

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        with self._lock:
            return self._incr(key, expiry, amount, time.time())

    def get(self, key: str) -> int:
        with self._lock:
            return self._get(key, time.time())

    def get_expiry(self, key: str) -> float:
        with self._lock:
            return self._expires.get(key, time.time())

    def check(self) -> bool:
        return True

    def reset(self) -> int | None:
        with self._lock:
            n = len(self._counts)
            self._counts.clear()
            self._expires.clear()
            self._heap.clear()
            return n

    def clear(self, key: str) -> None:
        with self._lock:
            self._counts.pop(key, None)
            self._expires.pop(key, None)

    # -- SlidingWindowCounterSupport -------------------------------------------------------

    def acquire_sliding_window_entry(
        self, key: str, limit: int, expiry: int, amount: int = 1
    ) -> bool:
        if amount > limit:
            return False
        with self._lock:
            now = time.time()
            previous, previous_ttl, current, _ = self._window(key, expiry, now)
            if math.floor(previous * previous_ttl / expiry + current) + amount > limit:
                return False
            _, current_key = self.sliding_window_keys(key, expiry, now)
            # A window's counter lives two windows: it is the "previous" one in the next.
            self._incr(current_key, 2 * expiry, amount, now)
            return True

    def get_sliding_window(self, key: str, expiry: int) -> tuple[int, float, int, float]:
        with self._lock:
            return self._window(key, expiry, time.time())

    def clear_sliding_window(self, key: str, expiry: int) -> None:
        now = time.time()
        for k in self.sliding_window_keys(key, expiry, now):
            self.clear(k)
