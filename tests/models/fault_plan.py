"""The fault plan the local protocol servers share (``openai_server``, ``gemini_server``):
each request takes the next planned step (``ok`` once the plan is empty), from whichever
thread the test or the server runs on."""

from __future__ import annotations

import threading
from collections import deque
from typing import Any


class FaultPlan:
    def __init__(self) -> None:
        self.steps: deque[str] = deque()
        self.hang_seconds = 1.5
        """How long ``hang`` and ``stall`` wait (longer than the tests' timeouts)."""
        self.requests: list[dict[str, Any]] = []
        """Every request body received, in order."""
        self._lock = threading.Lock()

    def plan(self, *steps: str) -> None:
        with self._lock:
            self.steps.extend(steps)

    def _next(self) -> str:
        with self._lock:
            return self.steps.popleft() if self.steps else "ok"
