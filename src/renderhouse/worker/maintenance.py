"""Runs the maintenance duties (rescuer, pruner, periodic jobs, and ``extra`` ones such as the
alert rules) on their own schedules inside a worker or ``serve``. Each duty is safe to run
on many machines at once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from renderhouse import metrics
from renderhouse.queue.periodic import PeriodicJob, enqueue_due
from renderhouse.queue.pruner import prune
from renderhouse.queue.queue import JobQueue
from renderhouse.queue.rescuer import rescue

log = logging.getLogger(__name__)


@dataclass
class Maintenance:
    queue: JobQueue
    rescue_every: float = 5.0
    prune_every: float = 3600.0
    retention_seconds: float = 30 * 86_400.0
    periodic: list[PeriodicJob] = field(default_factory=list)
    on_artifact_pruned: Callable[[dict[str, Any]], None] | None = None
    extra: list[tuple[float, Callable[[], Any]]] = field(default_factory=list)
    """More duties as (every seconds, callable), e.g. evaluating alert rules."""
    rescued: int = 0
    pruned: int = 0

    async def run(self, stopping: asyncio.Event) -> None:
        duties: list[tuple[float, Callable[[], Any]]] = [
            (self.rescue_every, self._rescue),
            (self.prune_every, self._prune),
        ]
        if self.periodic:
            duties.append((1.0, lambda: enqueue_due(self.queue, self.periodic)))
        duties.extend(self.extra)
        await asyncio.gather(*(self._every(s, fn, stopping) for s, fn in duties))

    async def _every(self, seconds: float, fn: Callable[[], Any], stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            try:
                await asyncio.to_thread(fn)
            except Exception:
                log.exception(
                    "maintenance duty %s failed; will try again", getattr(fn, "__name__", fn)
                )
            try:
                await asyncio.wait_for(stopping.wait(), seconds)
            except TimeoutError:
                pass

    def _rescue(self) -> None:
        rescued = rescue(self.queue)
        metrics.jobs_rescued(rescued)
        self.rescued += len(rescued)

    def _prune(self) -> None:
        while n := prune(self.queue, self.retention_seconds, self.on_artifact_pruned):
            self.pruned += n
