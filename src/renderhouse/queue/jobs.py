"""The job record and its states. ``docs/state_machine.md`` draws who moves a job."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class JobState(StrEnum):
    """A job's state. A ``str`` subclass: it is stored, bound to SQL parameters, serialised
    to JSON and compared with plain strings exactly as its value."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = (
    JobState.QUEUED,
    JobState.RUNNING,
    JobState.SUCCEEDED,
    JobState.FAILED,
    JobState.CANCELLED,
)
TERMINAL = frozenset({SUCCEEDED, FAILED, CANCELLED})
STATES = tuple(state.value for state in JobState)
"""The state names as plain strings (for choices and schemas that take strings)."""


def new_job_id() -> str:
    """Time-ordered (ms prefix) so ids sort by creation and index well."""
    return f"{int(time.time() * 1000):012x}{secrets.token_hex(10)}"


@dataclass(frozen=True)
class Job:
    id: str
    kind: str
    owner: str
    input: dict[str, Any]
    state: JobState
    priority: int
    run_at: float
    attempt: int
    snoozes: int
    max_attempts: int
    timeout: float
    lease_expires_at: float | None
    worker_id: str | None
    cancel_requested: bool
    checkpoint: dict[str, Any] | None
    progress_done: float
    progress_total: float
    progress_message: str
    result: dict[str, Any] | None
    error_code: str | None
    error_message: str | None
    idempotency_key: str | None
    parent_id: str | None
    webhook_url: str | None
    cost_estimated: int
    cost_reserved: int
    cost_posted: int | None
    created_at: float
    started_at: float | None
    attempted_at: float | None
    finished_at: float | None
    updated_at: float

    @property
    def attempts_spent(self) -> int:
        """Claims that counted against ``max_attempts`` (snoozes and hand-backs do not)."""
        return self.attempt - self.snoozes

    @property
    def progress(self) -> float:
        return self.progress_done / self.progress_total if self.progress_total else 0.0

    @classmethod
    def from_row(cls, row: Any) -> Job:
        m = dict(row._mapping)
        m.pop("fair_key", None)
        m["input"] = json.loads(m["input"])
        for key in ("checkpoint", "result"):
            m[key] = json.loads(m[key]) if m[key] is not None else None
        m["cancel_requested"] = bool(m["cancel_requested"])
        if m["state"] is not None:
            m["state"] = JobState(m["state"])
        return cls(**m)

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["progress"] = self.progress
        return d
