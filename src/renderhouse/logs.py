"""Structured logs: JSON lines in production (``log_format = "json"``), readable console
lines otherwise. Both structlog loggers and the standard ``logging`` loggers the rest of the
code uses go through one processor chain, so every line carries the ids bound in the
current context (request, job, user, kind) and passes through ``redact`` last before it is
rendered: a secret or an API key must never reach a log, whoever logged it and however."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, Any

import structlog
from structlog.contextvars import bind_contextvars, merge_contextvars

if TYPE_CHECKING:
    from renderhouse.queue.jobs import Job
    from renderhouse.settings import Settings

REDACTED = "[REDACTED]"
SECRET_FIELDS = re.compile(
    r"(secret|password|passwd|api[_-]?key|token|authorization|cookie|credential|signature)",
    re.I,
)
SECRET_TEXT = [
    # API keys (``rh_`` + the random part), wherever they appear in a message.
    (re.compile(r"\brh_[A-Za-z0-9_\-]{6,}"), "rh_" + REDACTED),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]+"), r"\1 " + REDACTED),
    (re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)[^\"',}\s]+"), r"\1" + REDACTED),
    # user:password@ in URLs (database, Redis, webhooks).
    (re.compile(r"(\b[a-z][a-z0-9+.\-]*://[^:/@\s]*):[^@\s/]+@", re.I), r"\1:" + REDACTED + "@"),
    (
        re.compile(
            r"(?i)\b((?:secret|password|passwd|api[_-]?key|token)[\"']?\s*[:=]\s*[\"']?)"
            r"[^\"'&,}\s]+"
        ),
        r"\1" + REDACTED,
    ),
    # Signed-URL signatures and AWS presigned credentials.
    (
        re.compile(r"(?i)([?&](?:sig|X-Amz-Signature|X-Amz-Credential)=)[^&\s\"']+"),
        r"\1" + REDACTED,
    ),
]


def redact_text(text: str) -> str:
    for pattern, replacement in SECRET_TEXT:
        text = pattern.sub(replacement, text)
    return text


def _redact_value(key: str, value: Any) -> Any:
    if SECRET_FIELDS.search(key) and value not in (None, "", [], {}):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {str(k): _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_redact_value(key, v) for v in value]
    if isinstance(value, bytes | int | float | bool) or value is None:
        return value
    return redact_text(repr(value))


def redact(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: secret-named fields are replaced, and API keys, bearer tokens,
    URL passwords and signatures are cut out of every string (messages, tracebacks)."""
    return {k: _redact_value(k, v) for k, v in event_dict.items()}


def configure_logging(settings: Settings, stream: IO[str] | None = None) -> None:
    """Route all logging through structlog's chain (to ``stream``, stderr by default); call
    once per process, at the edge."""
    shared: list[Any] = [
        merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.ExtraAdder(),
    ]
    json_lines = settings.log_format == "json"
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json_lines
        else structlog.dev.ConsoleRenderer(
            colors=(stream or sys.stderr).isatty(),
            exception_formatter=structlog.dev.plain_traceback,
        )
    )
    structlog.configure(
        processors=[
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("botocore").setLevel(logging.WARNING)


def bind_job(job: Job) -> None:
    """Bind the job's ids to the current context (one asyncio task or thread)."""
    bind_contextvars(job_id=job.id, kind=job.kind, user_id=job.owner)


def bind_request(request_id: str, user_id: str | None = None) -> None:
    bind_contextvars(request_id=request_id, **({"user_id": user_id} if user_id else {}))
