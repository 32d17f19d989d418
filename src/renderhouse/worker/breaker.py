"""Circuit breaker per kind (or provider): stop claiming work that keeps failing.

closed --N consecutive failures--> open --cooldown--> half_open --probe ok--> closed
                                                       half_open --probe fails--> open

Only failures that say the kind is unhealthy count (``worker/failures.py``). A failure that
may have been caused by its input (a crash, a resource limit) counts only once failures of
that kind come from two owners or more: one owner's hostile input stops nobody else's jobs
(that owner is throttled alone, ``owner_budget.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
    suspect: int = 0
    """Failures of the current run that may be their input's fault."""
    suspect_owners: set[str] = field(default_factory=set)

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
        self.suspect, self.suspect_owners = 0, set()
        return changed

    def on_failure(self, owner: str | None = None, *, suspect: bool = False) -> bool:
        """Count a failure that says the kind is unhealthy (``suspect``: may be the input's
        fault, counted once two owners have them); True if the state changed."""
        if suspect and owner is not None:
            self.suspect += 1
            self.suspect_owners.add(owner)
        else:
            self.failures += 1
        counted = self.failures + (self.suspect if len(self.suspect_owners) >= 2 else 0)
        if self.state == HALF_OPEN or (self.state == CLOSED and counted >= self.threshold):
            self.state, self.opened_at, self.probing = OPEN, self.clock.now(), False
            return True
        return False
