"""One exception root for Renderhouse.

Every error carries a stable machine-readable ``code``, a human sentence that says how to
fix it, optional ``details`` and the HTTP status the API edge maps it to::

    RenderhouseError
    ├── SettingsError            settings_invalid            (500 at the edge, CLI exit 2)
    ├── StoreError               store_unavailable
    │   └── SchemaOutdated       schema_outdated
    ├── NotConfigured            not_configured              503
    ├── NotFound                 not_found                   404
    ├── InvalidInput             invalid_input               422
    ├── Conflict                 conflict                    409
    ├── QueueFull                queue_full                  503
    ├── UnknownKind              unknown_kind                422
    ├── DuplicateKind            duplicate_kind
    ├── StaleAttempt             stale_attempt               409 (fencing token rejected)
    ├── BudgetExhausted          budget_exhausted            402 (a paid call over budget)
    ├── JobFailed                job_failed  (raised by generators with their own code)
    │   ├── Timeout              timeout
    │   └── WorkerCrashed        worker_crashed
    └── ModelError               invalid_model               422 (bad 3D input; subclasses refine)
"""

from __future__ import annotations

from typing import Any


class RenderhouseError(Exception):
    code: str = "error"
    http_status: int = 500

    def __init__(
        self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details: dict[str, Any] = details or {}

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class SettingsError(RenderhouseError):
    code = "settings_invalid"


class StoreError(RenderhouseError):
    code = "store_unavailable"
    http_status = 503


class SchemaOutdated(StoreError):
    code = "schema_outdated"


class NotConfigured(RenderhouseError):
    """A feature this deployment has not been set up for (e.g. a payment provider)."""

    code = "not_configured"
    http_status = 503


class NotFound(RenderhouseError):
    code = "not_found"
    http_status = 404


class InvalidInput(RenderhouseError):
    code = "invalid_input"
    http_status = 422


class Conflict(RenderhouseError):
    code = "conflict"
    http_status = 409


class QueueFull(RenderhouseError):
    code = "queue_full"
    http_status = 503


class UnknownKind(RenderhouseError):
    code = "unknown_kind"
    http_status = 422


class DuplicateKind(RenderhouseError):
    code = "duplicate_kind"


class StaleAttempt(RenderhouseError):
    """A worker reported on an attempt that is no longer the job's current one."""

    code = "stale_attempt"
    http_status = 409


class BudgetExhausted(RenderhouseError):
    """A budget cannot take a paid call's hold (``ctx.spend`` raises it inside generators,
    so it lives here, not with the ledger that enforces it)."""

    code = "budget_exhausted"
    http_status = 402


class JobFailed(RenderhouseError):
    """Raised by a generator to fail an attempt with its own error code."""

    code = "job_failed"


class Timeout(JobFailed):
    code = "timeout"


class WorkerCrashed(JobFailed):
    code = "worker_crashed"


class ModelError(RenderhouseError):
    """A 3D model that cannot be rendered; ``code`` names what is wrong with it."""

    code = "invalid_model"
    http_status = 422
