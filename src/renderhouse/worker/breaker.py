"""Circuit breaker per kind (or provider): stop claiming work that keeps failing.

closed --N consecutive failures--> open --cooldown--> half_open --probe ok--> closed
                                                       half_open --probe fails--> open
"""

from __future__ import annotations

from dataclasses import dataclass

from renderhouse.queue.clock import Clock

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


@dataclass
class CircuitBreaker:
    key: str
    clock: Clock
    threshold: int = 5
    cooldown: float = 30.0
    state: str = CLOSED
    failures: int = 0
    opened_at: float | None = None
    probing: bool = False

    def allow(self) -> int:
        """How many jobs may be claimed now: unlimited (-1), one probe (1) or none (0)."""
        cooled = self.opened_at is not None and self.clock.now() - self.opened_at >= self.cooldown
        if self.state == OPEN and cooled:
            self.state = HALF_OPEN
            self.probing = False
        if self.state == CLOSED:
            return -1
        if self.state == HALF_OPEN and not self.probing:
            return 1
        return 0

    def on_claimed(self) -> None:
        if self.state == HALF_OPEN:
            self.probing = True

    def on_success(self) -> bool:
        changed = self.state != CLOSED
        self.state, self.failures, self.opened_at, self.probing = CLOSED, 0, None, False
        return changed

    def on_failure(self) -> bool:
        """Count a failure that says the kind is unhealthy; True if the state changed."""
        self.failures += 1
        if self.state == HALF_OPEN or (self.state == CLOSED and self.failures >= self.threshold):
            self.state, self.opened_at, self.probing = OPEN, self.clock.now(), False
            return True
        return False
