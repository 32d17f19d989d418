"""Turn whatever a generator returned or raised into one message the worker applies."""

from __future__ import annotations

import traceback
from typing import Any

from renderhouse.errors import JobFailed, RenderhouseError
from renderhouse.generators.context import Cancelled
from renderhouse.generators.outcomes import Cancel, FanOut, Retry, Snooze, Success
from renderhouse.worker import failures


def from_return(value: Any) -> dict[str, Any]:
    if isinstance(value, Snooze):
        return {"t": "snooze", "seconds": value.seconds}
    if isinstance(value, Retry):
        return {
            "t": "error",
            "code": "retry",
            "message": value.reason,
            "retryable": True,
            "retry_after": value.after,
            "traceback": None,
            "fault": failures.NONE,
        }
    if isinstance(value, Cancel):
        return {"t": "cancelled", "reason": value.reason}
    if isinstance(value, FanOut):
        return {"t": "fanout", "children": value.children}
    if isinstance(value, Success):
        return {"t": "done", "result": value.result, "cost": value.cost}
    if value is None:
        return {"t": "done", "result": {}, "cost": None}
    if isinstance(value, dict):
        return {"t": "done", "result": value, "cost": None}
    return {"t": "done", "result": {"value": repr(value)}, "cost": None}


def from_exception(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, Cancelled):
        return {"t": "cancelled", "reason": exc.message}
    if isinstance(exc, MemoryError):
        return resource_limit(
            "the job ran out of its memory limit (an allocation failed); the input needs "
            "more memory than its kind allows: use a smaller or simpler input"
        )
    tb = "".join(traceback.format_exception(exc))
    if isinstance(exc, RenderhouseError):
        by_caller = failures.caller_fault(exc)
        return {
            "t": "error",
            "code": exc.code,
            "message": exc.message,
            "retryable": not by_caller and (isinstance(exc, JobFailed) or exc.http_status >= 500),
            "retry_after": None,
            "traceback": tb,
            "fault": failures.CALLER if by_caller else failures.INFRASTRUCTURE,
        }
    return {
        "t": "error",
        "code": "generator_error",
        "message": f"{type(exc).__name__}: {exc}",
        "retryable": True,
        "retry_after": None,
        "traceback": tb,
        "fault": failures.SUSPECT,
    }


def resource_limit(message: str) -> dict[str, Any]:
    """An attempt stopped by its memory or CPU-time limit: final (the same input would hit
    it again), and charged to its owner, not to the kind (``worker/failures.py``)."""
    return {
        "t": "error",
        "code": "resource_limit",
        "message": message,
        "retryable": False,
        "retry_after": None,
        "traceback": None,
        "fault": failures.SUSPECT,
    }
