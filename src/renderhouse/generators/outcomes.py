"""What a generator's ``run`` may return besides a plain result (Oban-style outcome values)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Success:
    """The job succeeded; ``result`` is kept with the job, ``cost`` is the actual cost."""

    result: dict[str, Any] = field(default_factory=dict)
    cost: int | None = None


@dataclass(frozen=True)
class Snooze:
    """Run again after ``seconds`` without spending an attempt."""

    seconds: float


@dataclass(frozen=True)
class Retry:
    """Fail this attempt and retry (after ``after`` seconds, or the retry policy's delay)."""

    reason: str = "retry requested"
    after: float | None = None


@dataclass(frozen=True)
class Cancel:
    """Stop for good without retrying; the job ends ``cancelled``."""

    reason: str = "cancelled by generator"


@dataclass(frozen=True)
class FanOut:
    """Split the job into child jobs of the same kind with these inputs; the job runs again
    (``ctx.children()`` then lists their results and artifacts) once they have all ended."""

    children: list[dict[str, Any]]


Outcome = Success | Snooze | Retry | Cancel | FanOut
