"""Paid calls from inside a generator: hold the call's estimated maximum against the job's
budgets before the call, record what it really cost after, exactly once::

    with ctx.spend(estimate, provider="openai") as call:
        reply = client.post(...)
        call.settle(cost_of(reply))

``spend`` raises ``BudgetExhausted`` when a budget the job draws on (its owner, the owner's
org, the provider) cannot take the hold; the job then ends failed with ``budget_exhausted``
and is not retried (a retry would meet the same budget). Amounts are integer money units
of the deployment's choosing (e.g. micro-dollars), not credits.

A block left without ``settle`` (an exception, a forgotten call) is settled at the
estimate: the provider may have charged for a request whose answer never arrived, and
settling low would let spend run past the cap unseen. A process killed inside the block
leaves its hold to the hold-expiry duty, which settles it at the estimate for that reason.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from renderhouse.errors import BudgetExhausted, InvalidInput

__all__ = ["BudgetExhausted", "Meter", "PaidCall", "Unmetered", "spend"]

log = logging.getLogger(__name__)
PROVIDER = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,31}$")


class Meter(Protocol):
    """What a context's owner provides: the budgets side of paid calls for one job."""

    def reserve(self, estimate: int, provider: str | None) -> list[str]:
        """Hold ``estimate`` under every budget the job draws on; the hold ids. Raises
        BudgetExhausted (and holds nothing) when one of them cannot take it."""

    def settle(self, holds: list[str], actual: int) -> None:
        """Record ``actual`` as what the call cost, under each of its holds."""


class PaidCall:
    """One held call; ``settle(actual)`` exactly once."""

    def __init__(self, meter: Meter, holds: list[str], estimate: int, provider: str | None):
        self.estimate, self.provider = estimate, provider
        self.actual: int | None = None
        self._meter, self._holds = meter, holds

    @property
    def settled(self) -> bool:
        return self.actual is not None

    def settle(self, actual: int) -> None:
        """Record what the call cost (0 if it was not made); may exceed the estimate if the
        provider charged more, but only once."""
        if actual < 0:
            raise InvalidInput("a paid call costs zero or more", details={"actual": actual})
        if self.actual is not None:
            raise RuntimeError(f"this paid call was settled already (at {self.actual})")
        self._meter.settle(self._holds, actual)
        self.actual = actual


@contextmanager
def spend(meter: Meter, estimate: int, provider: str | None = None) -> Iterator[PaidCall]:
    """The body of every ``Context.spend``; see the module docstring for the contract."""
    if estimate < 0:
        raise InvalidInput("a paid call's estimate is zero or more", details={"estimate": estimate})
    if provider is not None and not PROVIDER.match(provider):
        raise InvalidInput(
            "a provider name is 1-32 of [a-z0-9_.-], e.g. 'openai'",
            details={"provider": provider},
        )
    call = PaidCall(meter, meter.reserve(estimate, provider), estimate, provider)
    try:
        yield call
    except BaseException:
        if not call.settled:
            try:
                call.settle(estimate)
            except Exception:  # the hold-expiry duty settles it at the estimate later
                log.warning("could not settle a failed paid call; its hold will expire")
        raise
    if not call.settled:
        call.settle(estimate)


class Unmetered:
    """No budgets (a generator run directly, outside the platform): every call is allowed;
    what they cost is added up in ``spent``."""

    def __init__(self) -> None:
        self.spent = 0

    def reserve(self, estimate: int, provider: str | None) -> list[str]:
        return []

    def settle(self, holds: list[str], actual: int) -> None:
        self.spent += actual
