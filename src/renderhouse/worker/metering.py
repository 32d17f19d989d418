"""The worker's side of paid calls (``ctx.spend``): which ``Meter`` a job gets, and the pipe
messages through which a job in a pool child uses its parent's meter (a child never opens
the database)::

    child → parent   {"t": "spend", "estimate", "provider"}   {"t": "settle", "holds", "actual"}
    parent → child   {"t": "ack", "ok": true, "holds": [...]}
                     {"t": "ack", "ok": false, "code", "error", "details"}  (raised in the child)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from renderhouse.errors import (
    BudgetExhausted,
    InvalidInput,
    RenderhouseError,
    StaleAttempt,
    StoreError,
)
from renderhouse.generators.spending import Meter, Unmetered

if TYPE_CHECKING:
    from renderhouse.queue.jobs import Job

log = logging.getLogger(__name__)

MeterFor = Callable[["Job"], Meter]
"""Builds the meter of one job (the ledger's budgets in a deployment)."""

_RAISED_IN_CHILD: dict[str, type[RenderhouseError]] = {
    cls.code: cls for cls in (BudgetExhausted, InvalidInput, StoreError)
}


def unmetered(job: Job) -> Meter:
    """No budgets: for workers built without the ledger (tests of the queue itself)."""
    return Unmetered()


def answer(meter: Meter, msg: dict[str, Any]) -> dict[str, Any]:
    """The parent's ack to a child's ``spend`` or ``settle`` message."""
    try:
        if msg["t"] == "spend":
            holds = meter.reserve(int(msg["estimate"]), msg.get("provider"))
            return {"t": "ack", "ok": True, "holds": holds}
        meter.settle(list(msg["holds"]), int(msg["actual"]))
        return {"t": "ack", "ok": True}
    except RenderhouseError as exc:
        refused = {"code": exc.code, "error": exc.message, "details": exc.details}
        return {"t": "ack", "ok": False, **refused}
    except Exception as exc:  # the database is away: the attempt fails and is retried
        log.warning("a paid call's %s failed: %s", msg["t"], exc)
        message = f"could not record the paid call's budget ({type(exc).__name__}); retry later"
        return {"t": "ack", "ok": False, "code": StoreError.code, "error": message}


def refusal(ack: dict[str, Any]) -> RenderhouseError:
    """The exception a child raises for a refused ack (StaleAttempt unless it names one)."""
    cls = _RAISED_IN_CHILD.get(ack.get("code", ""))
    message = ack.get("error", "the parent refused the report")
    if cls is None:
        return StaleAttempt(message)
    return cls(message, details=ack.get("details") or {})


class PipeMeter:
    """A child's meter: each call is a message to the parent, answered once it is durable."""

    def __init__(self, call: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        self._call = call

    def reserve(self, estimate: int, provider: str | None) -> list[str]:
        ack = self._call({"t": "spend", "estimate": estimate, "provider": provider})
        return list(ack["holds"])

    def settle(self, holds: list[str], actual: int) -> None:
        self._call({"t": "settle", "holds": holds, "actual": actual})
