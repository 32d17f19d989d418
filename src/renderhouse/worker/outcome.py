"""Turn whatever a generator returned or raised into the one outcome the worker records."""

from __future__ import annotations

import traceback
from typing import Any

from renderhouse.errors import JobFailed, RenderhouseError
from renderhouse.generators.context import Cancelled
from renderhouse.generators.outcomes import Cancel, FanOut, Retry, Snooze, Success
from renderhouse.worker import failures, messages


def from_return(value: Any) -> messages.Outcome:
    if isinstance(value, Snooze):
        return messages.Snoozed(value.seconds)
    if isinstance(value, Retry):
        return messages.Failed("retry", value.reason, retry_after=value.after, fault=failures.NONE)
    if isinstance(value, Cancel):
        return messages.Cancelled(value.reason)
    if isinstance(value, FanOut):
        return messages.FannedOut(value.children)
    if isinstance(value, Success):
        return messages.Done(value.result, value.cost)
    if value is None:
        return messages.Done({})
    if isinstance(value, dict):
        return messages.Done(value)
    return messages.Done({"value": repr(value)})


def from_exception(exc: BaseException) -> messages.Outcome:
    if isinstance(exc, Cancelled):
        return messages.Cancelled(exc.message)
    if isinstance(exc, MemoryError):
        return resource_limit(
            "the job ran out of its memory limit (an allocation failed); the input needs "
            "more memory than its kind allows: use a smaller or simpler input"
        )
    tb = "".join(traceback.format_exception(exc))
    if isinstance(exc, RenderhouseError):
        by_caller = failures.caller_fault(exc)
        return messages.Failed(
            exc.code,
            exc.message,
            retryable=not by_caller and (isinstance(exc, JobFailed) or exc.http_status >= 500),
            traceback=tb,
            fault=failures.CALLER if by_caller else failures.INFRASTRUCTURE,
        )
    return messages.Failed(
        "generator_error", f"{type(exc).__name__}: {exc}", traceback=tb, fault=failures.SUSPECT
    )


def resource_limit(message: str) -> messages.Failed:
    """An attempt stopped by its memory or CPU-time limit: final (the same input would hit
    it again), and charged to its owner, not to the kind (``worker/failures.py``)."""
    return messages.Failed("resource_limit", message, retryable=False, fault=failures.SUSPECT)


def crashed(message: str) -> messages.Failed:
    """The attempt's process died or its pipe closed: retried, a suspect failure."""
    return messages.Failed("worker_crashed", message)


def timed_out(timeout: float) -> messages.Failed:
    return messages.Failed("timeout", f"the job ran longer than its timeout of {timeout:g} s")
