"""Retry delays: exponential backoff with jitter."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RetryPolicy:
    """Delay before retry ``n`` (1-based) is ``base * factor**(n-1)``, capped at ``max_delay``,
    then spread by ±``jitter`` of itself so a burst of failures does not retry in lockstep
    ("equal jitter", AWS Architecture Blog, "Exponential Backoff and Jitter", 2015)."""

    base: float = 2.0
    factor: float = 2.0
    max_delay: float = 600.0
    jitter: float = 0.25
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def delay(self, failures: int) -> float:
        raw = min(self.max_delay, self.base * self.factor ** max(0, failures - 1))
        if self.jitter <= 0:
            return raw
        spread = raw * self.jitter
        return max(0.0, raw + self.rng.uniform(-spread, spread))
