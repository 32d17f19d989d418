"""Riding out a database outage: exponential backoff with jitter, and one log line when an
outage starts and one when it ends, not a traceback per attempt."""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, field


@dataclass
class Outage:
    """What one loop knows about the outage it is in (if any)."""

    what: str
    log: logging.Logger
    first: float = 0.05
    cap: float = 5.0
    attempts: int = 0
    since: float | None = None
    _rand: random.Random = field(default_factory=random.Random)

    def failed(self, exc: BaseException) -> float:
        """Note a failed attempt; return how long to wait before the next one ("equal
        jitter" over an exponentially growing window: AWS Architecture Blog, "Exponential Backoff
        and Jitter", 2015)."""
        if self.since is None:
            self.since = time.monotonic()
            self.log.warning(
                "%s failed (%s: %s); retrying with backoff until the database answers",
                self.what,
                type(exc).__name__,
                _first_line(exc),
            )
        self.attempts += 1
        window = min(self.cap, self.first * 2 ** (self.attempts - 1))
        return window / 2 + self._rand.uniform(0, window / 2)

    def ended(self) -> None:
        if self.since is None:
            return
        self.log.warning(
            "%s works again after %.1fs and %d failed attempt(s)",
            self.what,
            time.monotonic() - self.since,
            self.attempts,
        )
        self.since, self.attempts = None, 0


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else ""
