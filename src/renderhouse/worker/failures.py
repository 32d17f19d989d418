"""Failure classes: who a failed attempt says is at fault, and so what it may count against.

- ``caller``: the input is bad (``ModelError``, ``InvalidInput``, any error whose class sets
  ``caller_fault = True``, or by default any error the API maps to a 4xx). Final: never
  retried, counted by no breaker and no owner budget.
- ``suspect``: the attempt crashed, ran out of its resource limits or timed out, and the
  input may be what made it do so. Charged to the owner's failure budget; counted for the
  kind's breaker only once two owners or more fail that way.
- ``infrastructure``: a generator said its own machinery failed (``JobFailed`` with its
  code: a provider, storage, the renderer on valid input). Counted for the kind.
- ``none``: cancellations and generator-requested retries; not failures of anything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from renderhouse.errors import RenderhouseError

if TYPE_CHECKING:
    from renderhouse.worker.messages import Failed

CALLER, SUSPECT, INFRASTRUCTURE, NONE = "caller", "suspect", "infrastructure", "none"

SUSPECT_CODES = frozenset({"generator_error", "worker_crashed", "timeout", "resource_limit"})
NOT_FAILURES = frozenset({"cancelled", "retry"})


def caller_fault(exc: RenderhouseError) -> bool:
    """Whether ``exc`` is the caller's fault: its class says so (``caller_fault``), or else
    the API would answer it with a 4xx."""
    marked = getattr(type(exc), "caller_fault", None)
    if marked is not None:
        return bool(marked)
    return 400 <= exc.http_status < 500


def fault_of(failed: Failed) -> str:
    """The class of a failed attempt (``worker/outcome.py`` sets it where it knows)."""
    if failed.fault is not None and failed.fault in (CALLER, SUSPECT, INFRASTRUCTURE, NONE):
        return failed.fault
    if failed.code in NOT_FAILURES:
        return NONE
    if failed.code in SUSPECT_CODES:
        return SUSPECT
    return INFRASTRUCTURE if failed.retryable else CALLER
