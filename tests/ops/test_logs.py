"""No secret is ever logged: not in messages, fields, nested data, URLs or tracebacks, from
structlog or from the standard ``logging`` loggers; and every line carries the bound ids."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog
from hypothesis import given, settings
from hypothesis import strategies as st

from renderhouse.logs import configure_logging, redact_text
from renderhouse.settings import Settings

API_KEY = "rh_Zx81kQ_aP3-secretpart9"
PASSWORD = "hunter2-db-password"


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    out = io.StringIO()
    configure_logging(Settings(log_format="json", log_level="DEBUG"), out)
    yield out
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


def lines(out: io.StringIO) -> list[dict[str, object]]:
    err = out.getvalue()
    return [json.loads(line) for line in err.splitlines() if line.strip()]


def test_no_secret_reaches_the_log(json_logs: io.StringIO) -> None:
    structlog.contextvars.bind_contextvars(request_id="req-1", job_id="job-9", user_id="u-3")
    slog = structlog.get_logger("renderhouse.test")
    slog.info(
        "login",
        api_key=API_KEY,
        headers={"Authorization": f"Bearer {API_KEY}", "Accept": "*/*"},
        settings={"secret_key": "s3cr3t-value-xyz", "database_url": "postgresql://u@h/db"},
        password=PASSWORD,
    )
    std = logging.getLogger("renderhouse.std")
    std.warning("key %s used from %s", API_KEY, f"postgresql://app:{PASSWORD}@db:5432/rh")
    std.info("Authorization: Bearer abc.def.ghi and token=tok_123456")
    std.info("download /v1/files/a.png?expires=1&sig=deadbeefcafebabe")
    try:
        raise ValueError(f"bad key {API_KEY}")
    except ValueError:
        std.exception("failed")

    out = lines(json_logs)
    raw = json.dumps(out)
    for secret in (API_KEY, PASSWORD, "s3cr3t-value-xyz", "abc.def.ghi", "tok_123456", "deadbeef"):
        assert secret not in raw
    first = out[0]
    assert first["event"] == "login"
    assert first["request_id"] == "req-1" and first["job_id"] == "job-9"
    assert first["user_id"] == "u-3"
    assert first["headers"] == {"Authorization": "[REDACTED]", "Accept": "*/*"}
    assert first["settings"]["database_url"] == "postgresql://u@h/db"  # type: ignore[index]
    assert "postgresql://app:[REDACTED]@db:5432/rh" in str(out[1]["event"])
    assert out[1]["job_id"] == "job-9"  # standard-library lines get the context too
    assert "ValueError" in str(out[-1]["exception"])


def test_console_format_is_readable() -> None:
    root = logging.getLogger()
    saved = list(root.handlers)
    out = io.StringIO()
    try:
        configure_logging(Settings(log_format="console"), out)
        logging.getLogger("renderhouse.x").warning("queue is %s with key %s", "deep", API_KEY)
        err = out.getvalue()
    finally:
        root.handlers[:] = saved
        structlog.reset_defaults()
    assert "queue is deep" in err and API_KEY not in err and not err.startswith("{")


@settings(max_examples=200, deadline=None)
@given(
    secret=st.text(
        alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-",
        min_size=16,
        max_size=48,
    ),
    before=st.text(max_size=20),
    after=st.sampled_from(["", " ", ".", "\n", '"', ",", ")"]),
)
def test_api_keys_are_cut_from_any_text(secret: str, before: str, after: str) -> None:
    key = "rh_" + secret
    assert key not in redact_text(f"{before} {key}{after}")
