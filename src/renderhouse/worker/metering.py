"""The worker's side of paid calls (``ctx.spend``): which ``Meter`` a job gets, and how a
job in a pool child uses its parent's meter (a child never opens the database): it sends
``Spend``/``Settle`` and waits for the ``Ack``; a refusal is raised in the child."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from renderhouse.errors import (
    BudgetExhausted,
    InvalidInput,
    RenderhouseError,
    StaleAttempt,
    StoreError,
)
from renderhouse.generators.spending import Meter, Unmetered
from renderhouse.worker.messages import Ack, Settle, Spend

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


def answer(meter: Meter, msg: Spend | Settle) -> Ack:
    """The parent's ack to a child's ``Spend`` or ``Settle``."""
    try:
        match msg:
            case Spend(estimate, provider):
                return Ack(True, holds=meter.reserve(int(estimate), provider))
            case Settle(holds, actual):
                meter.settle(list(holds), int(actual))
                return Ack(True)
    except RenderhouseError as exc:
        return Ack(False, code=exc.code, error=exc.message, details=exc.details)
    except Exception as exc:  # the database is away: the attempt fails and is retried
        log.warning("a paid call's %s failed: %s", type(msg).__name__.lower(), exc)
        message = f"could not record the paid call's budget ({type(exc).__name__}); retry later"
        return Ack(False, code=StoreError.code, error=message)


def refusal(ack: Ack) -> RenderhouseError:
    """The exception a child raises for a refused ack (StaleAttempt unless it names one)."""
    cls = _RAISED_IN_CHILD.get(ack.code or "")
    message = ack.error or "the parent refused the report"
    if cls is None:
        return StaleAttempt(message)
    return cls(message, details=ack.details)


class PipeMeter:
    """A child's meter: each call is a message to the parent, answered once it is durable."""

    def __init__(self, call: Callable[[Spend | Settle], Ack]) -> None:
        self._call = call

    def reserve(self, estimate: int, provider: str | None) -> list[str]:
        return list(self._call(Spend(estimate, provider)).holds)

    def settle(self, holds: list[str], actual: int) -> None:
        self._call(Settle(holds, actual))
