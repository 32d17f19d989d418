"""Per-owner failure budget: an owner whose jobs keep failing is throttled alone.

A crash on one owner's input says little about the kind's health, so such failures are
charged to the owner first (``breaker.py`` counts them for the kind only once a second
owner fails too). An owner over budget is left out of this worker's claims for a cooldown
that doubles each time it is hit again; a success pays the debt back.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field

from renderhouse.queue.clock import Clock

log = logging.getLogger(__name__)


@dataclass
class OwnerBudget:
    clock: Clock
    failures: int = 5
    """Failures an owner may have within ``window`` before it is throttled."""
    window: float = 300.0
    cooldown: float = 60.0
    max_cooldown: float = 3600.0
    _recent: dict[str, deque[float]] = field(default_factory=dict)
    _until: dict[str, float] = field(default_factory=dict)
    _strikes: dict[str, int] = field(default_factory=dict)

    def on_failure(self, owner: str) -> bool:
        """Charge one failure to ``owner``; True if that throttles it now."""
        now = self.clock.now()
        recent = self._recent.setdefault(owner, deque())
        recent.append(now)
        while recent and recent[0] < now - self.window:
            recent.popleft()
        if len(recent) < self.failures or self._until.get(owner, 0.0) > now:
            return False
        strikes = self._strikes[owner] = self._strikes.get(owner, 0) + 1
        pause = min(self.max_cooldown, self.cooldown * 2 ** (strikes - 1))
        self._until[owner] = now + pause
        recent.clear()
        log.warning(
            "owner %s: %d failures within %gs; its jobs wait %gs on this worker",
            owner,
            self.failures,
            self.window,
            pause,
        )
        return True

    def on_success(self, owner: str) -> None:
        self._recent.pop(owner, None)
        self._strikes.pop(owner, None)

    def throttled(self) -> dict[str, float]:
        """Owners left out of claims now, with when each may be claimed again."""
        now = self.clock.now()
        for owner in [o for o, t in self._until.items() if t <= now]:
            del self._until[owner]
        return dict(self._until)
