"""Optional Sentry capture: an unexpected API error reaches a local endpoint speaking
Sentry's envelope protocol, without the caller's key, query string or body."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sentry_sdk

from renderhouse.api import create_app
from renderhouse.runtime import Runtime
from renderhouse.settings import Settings
from renderhouse.store.migrate import upgrade
from tests.models.envelope_server import EnvelopeServer
from tests.threaded_server import serving


@pytest.fixture
def receiver() -> Iterator[tuple[EnvelopeServer, str]]:
    fake = EnvelopeServer()
    with serving(fake.app) as url:
        yield fake, url
    sentry_sdk.get_client().close()
    sentry_sdk.init()  # no DSN: later tests send nothing


def test_unexpected_errors_reach_sentry_without_secrets(receiver, tmp_path: Path) -> None:
    fake, url = receiver
    host = url.removeprefix("http://")
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'rh.db'}",
        data_dir=tmp_path,
        secret_key="test-secret-key-0123456789abcdef-xyz",
        sentry_dsn=f"http://publickey@{host}/42",
    )
    rt = Runtime(settings)
    upgrade(rt.store)
    app = create_app(settings, rt)

    @app.post("/boom")
    async def boom() -> None:
        raise RuntimeError("kaboom")

    # Made at run time, so the source lines Sentry sends as frame context cannot hold them.
    query, key, cookie, body = (f"{part}-{'s' * 3}ecret" for part in ("q", "k", "c", "b"))
    try:
        with serving(app) as api:
            r = httpx.post(
                f"{api}/boom?token={query}",
                headers={"Authorization": f"Bearer rh_live_{key}", "Cookie": f"s={cookie}"},
                content=json.dumps({"prompt": body}).encode(),
            )
        assert r.status_code == 500
        sentry_sdk.flush(timeout=5)
    finally:
        rt.close()
    assert fake.events, "no event reached the envelope endpoint"
    event = fake.events[0]
    exc = event["exception"]["values"][-1]
    assert exc["type"] == "RuntimeError" and exc["value"] == "kaboom"
    assert event["request"] == {"method": "POST", "url": f"{api}/boom"}
    everything = b"".join(fake.raw).decode("utf-8", "replace") + json.dumps(fake.events)
    for secret in (query, key, cookie, body):
        at = everything.find(secret)
        assert at < 0, everything[max(0, at - 300) : at + 50]


def test_without_a_dsn_nothing_is_loaded() -> None:
    from renderhouse.api import error_capture

    assert error_capture.install(Settings()) is False
