"""Turn whatever a generator returned or raised into one message the worker applies."""

from __future__ import annotations

import traceback
from typing import Any

from renderhouse.errors import InvalidInput, JobFailed, ModelError, RenderhouseError
from renderhouse.generators.context import Cancelled
from renderhouse.generators.outcomes import Cancel, FanOut, Retry, Snooze, Success

NON_RETRYABLE = (ModelError, InvalidInput)


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
    tb = "".join(traceback.format_exception(exc))
    if isinstance(exc, RenderhouseError):
        return {
            "t": "error",
            "code": exc.code,
            "message": exc.message,
            "retryable": not isinstance(exc, NON_RETRYABLE)
            and (isinstance(exc, JobFailed) or exc.http_status >= 500),
            "retry_after": None,
            "traceback": tb,
        }
    return {
        "t": "error",
        "code": "generator_error",
        "message": f"{type(exc).__name__}: {exc}",
        "retryable": True,
        "retry_after": None,
        "traceback": tb,
    }
