"""The messages between a worker and its pool children, and the outcome of an attempt, as
types: each side matches on the class (``match``), so a message the other side does not
send, or a field it does not set, is a type error rather than a KeyError at run time.

worker → child   ``RunJob``, ``CancelJob``, ``Stop``, ``Ack`` (to a report that waits),
                 ``Replied`` (to a ``Complete``)
child → worker   ``Ready``, ``Progress``, ``SaveCheckpoint``, ``AddArtifact``, ``Spend``,
                 ``Settle``, ``Complete``, then one ``Outcome``
An ``Outcome`` is also what the inline runner returns and what the worker records."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from renderhouse.generators.language import Request


# -- worker → child ------------------------------------------------------------------------
@dataclass(frozen=True)
class RunJob:
    job_id: str
    attempt: int
    kind: str
    input: dict[str, Any]
    checkpoint: dict[str, Any] | None
    deadline: float
    storage_url: str
    artifacts: list[dict[str, Any]]
    """Earlier attempts' artifacts (name, key, content_type, size, sha256)."""
    children: list[dict[str, Any]]


@dataclass(frozen=True)
class CancelJob:
    pass


@dataclass(frozen=True)
class Stop:
    pass


@dataclass(frozen=True)
class Ack:
    """The answer to a report that waits: durable (``ok``), or refused with the error the
    child raises (``code`` names it; none: a stale attempt)."""

    ok: bool
    holds: list[str] = field(default_factory=list)
    code: str | None = None
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Replied:
    """The answer to a ``Complete``: the reply (``Reply`` as a dict), or the error the child
    raises (``code``; ``final``: the caller's input was refused, not the models' failure)."""

    reply: dict[str, Any] | None = None
    code: str | None = None
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    final: bool = False


# -- child → worker ------------------------------------------------------------------------
@dataclass(frozen=True)
class Ready:
    pid: int


@dataclass(frozen=True)
class Progress:
    done: float
    total: float
    message: str


@dataclass(frozen=True)
class SaveCheckpoint:
    state: dict[str, Any]


@dataclass(frozen=True)
class AddArtifact:
    ref: dict[str, Any]


@dataclass(frozen=True)
class Spend:
    estimate: int
    provider: str | None


@dataclass(frozen=True)
class Settle:
    holds: list[str]
    actual: int


@dataclass(frozen=True)
class Complete:
    """A ``ctx.llm.complete`` call; the worker runs it and answers ``Replied``."""

    request: Request


# -- outcomes ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Done:
    name: ClassVar[str] = "done"
    result: dict[str, Any] = field(default_factory=dict)
    cost: int | None = None


@dataclass(frozen=True)
class Failed:
    """``fault`` is the failure class (``worker/failures.py``); None: judged from the code."""

    name: ClassVar[str] = "error"
    code: str
    message: str
    retryable: bool = True
    retry_after: float | None = None
    traceback: str | None = None
    fault: str | None = None


@dataclass(frozen=True)
class Snoozed:
    name: ClassVar[str] = "snooze"
    seconds: float


@dataclass(frozen=True)
class Cancelled:
    name: ClassVar[str] = "cancelled"
    reason: str = "cancelled"


@dataclass(frozen=True)
class FannedOut:
    name: ClassVar[str] = "fanout"
    children: list[dict[str, Any]]


@dataclass(frozen=True)
class HandedBack:
    """Given back unfinished (shutdown); no attempt spent."""

    name: ClassVar[str] = "handed_back"


@dataclass(frozen=True)
class Lost:
    """The job is no longer this worker's (lease lost, fenced off): nothing to record."""

    name: ClassVar[str] = "lost"


Outcome = Done | Failed | Snoozed | Cancelled | FannedOut | HandedBack | Lost
OUTCOMES = (Done, Failed, Snoozed, Cancelled, FannedOut, HandedBack, Lost)
