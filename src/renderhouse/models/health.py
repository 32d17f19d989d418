"""Live health of one deployment from what it costs nothing to know: the latency and
errors of real traffic over a sliding window (passive) and the last free probe (the
provider's model list); plus, where a deployment opts in, the last active probe (a
``max_tokens=1`` completion, one per cluster per interval: ``models/probe_active.py``).
Status:

- ``down``: the breaker is open, or the last probe of either kind failed and no call
  succeeded since;
- ``degraded``: error rate over the window ≥ 20 %, or the breaker is half-open;
- ``up``: otherwise (also before any traffic, once a probe succeeded or none ran yet).

Percentiles are nearest-rank over the window's successful calls."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from renderhouse.queue.clock import Clock
from renderhouse.worker.breaker import HALF_OPEN, OPEN, CircuitBreaker

DEGRADED_ERROR_RATE = 0.2
MAX_SAMPLES = 10_000


def rfc3339(t: float | None) -> str | None:
    return None if t is None else datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (the smallest value with at least q of them at or below)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


@dataclass
class Health:
    clock: Clock
    breaker: CircuitBreaker
    window: float = 300.0
    samples: deque[tuple[float, float, bool]] = field(default_factory=deque)
    """(when, latency seconds, ok)."""
    last_check: float | None = None
    last_check_ok: bool | None = None
    last_check_error: str | None = None
    last_success: float | None = None
    active_at: float | None = None
    """When the cluster's last active probe answered (whichever process sent it)."""
    active_ok: bool | None = None
    active_error: str | None = None
    active_latency: float | None = None

    def record(self, latency: float, ok: bool) -> None:
        now = self.clock.now()
        self.samples.append((now, latency, ok))
        if ok:
            self.last_success = now
        self._trim(now)

    def probed(self, ok: bool, error: str | None = None) -> None:
        self.last_check, self.last_check_ok, self.last_check_error = self.clock.now(), ok, error

    def active_probed(
        self, ok: bool, error: str | None, latency: float | None, at: float | None = None
    ) -> None:
        """An active probe's answer (a real completion: its success is a success)."""
        at = self.clock.now() if at is None else at
        self.active_at, self.active_ok = at, ok
        self.active_error, self.active_latency = error, latency
        if ok and (self.last_success is None or at > self.last_success):
            self.last_success = at

    def _failed_since_success(self, ok: bool | None, at: float | None) -> bool:
        return ok is False and (self.last_success is None or (at or 0) > self.last_success)

    def _trim(self, now: float) -> None:
        while self.samples and (
            self.samples[0][0] < now - self.window or len(self.samples) > MAX_SAMPLES
        ):
            self.samples.popleft()

    def status(self) -> str:
        self.breaker.allow()  # let a cooled-down breaker show half-open
        if self.breaker.state == OPEN:
            return "down"
        if self._failed_since_success(
            self.last_check_ok, self.last_check
        ) or self._failed_since_success(self.active_ok, self.active_at):
            return "down"
        if self.breaker.state == HALF_OPEN or self.error_rate() >= DEGRADED_ERROR_RATE:
            return "degraded"
        return "up"

    def error_rate(self) -> float:
        self._trim(self.clock.now())
        if not self.samples:
            return 0.0
        return sum(1 for _, _, ok in self.samples if not ok) / len(self.samples)

    def to_dict(self) -> dict[str, Any]:
        self._trim(self.clock.now())
        latencies = [lat for _, lat, ok in self.samples if ok]
        p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)
        return {
            "status": self.status(),
            "requests": len(self.samples),
            "error_rate": round(self.error_rate(), 4),
            "latency_p50_ms": None if p50 is None else round(p50 * 1000, 1),
            "latency_p95_ms": None if p95 is None else round(p95 * 1000, 1),
            "window_seconds": self.window,
            "breaker": self.breaker.state,
            "last_check": rfc3339(self.last_check),
            "last_check_ok": self.last_check_ok,
            "last_check_error": self.last_check_error,
            "active_probe": None
            if self.active_at is None
            else {
                "at": rfc3339(self.active_at),
                "ok": self.active_ok,
                "error": self.active_error,
                "latency_ms": None
                if self.active_latency is None
                else round(self.active_latency * 1000, 1),
            },
        }


STATUS_ORDER = {"up": 0, "degraded": 1, "down": 2}


def combined(statuses: list[str]) -> str:
    """A model's status from its deployments': up if any is up, else the best of the rest."""
    return min(statuses, key=STATUS_ORDER.__getitem__) if statuses else "down"
