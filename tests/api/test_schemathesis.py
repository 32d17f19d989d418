"""Property-based API fuzzing from the OpenAPI document (schemathesis): whatever it sends,
the API answers without a 5xx, and every 4xx carries the one error shape."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from renderhouse import accounts
from renderhouse.api import create_app
from renderhouse.runtime import Runtime
from renderhouse.settings import Settings
from renderhouse.store.database import Store
from renderhouse.store.migrate import upgrade

EXAMPLES = 40
# Payment routes answer 503 not_configured while no provider is configured (as here), and
# their callbacks are exercised with a fake provider speaking the real protocol in
# tests/ledger; the "no 5xx" rule would count the honest 503 as a failure.
UNFUZZED = ("/v1/payments",)


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[object, str]]:
    root: Path = tmp_path_factory.mktemp("fuzz")
    url = f"sqlite:///{root / 'fuzz.db'}"
    store = Store(url)
    upgrade(store)
    store.dispose()
    s = Settings(
        database_url=url,
        data_dir=root,
        rate_limit="1000000/minute",
        rate_limit_global="1000000/minute",
        upload_rate_limit="1000000/hour",
        max_upload_mb=1,
        # Google Calendar configured (nothing is called before a signed state): its routes
        # answer 422/200, not the honest 503 google_not_configured.
        google_client_id="fuzz.apps.googleusercontent.com",
        google_client_secret="fuzz",
    )
    rt = Runtime(s)
    with rt.store.begin() as conn:
        key = accounts.bootstrap_admin(conn)
    assert key
    yield create_app(s, rt), key
    rt.close()


def _error_shape(response: object) -> None:
    status = response.status_code  # type: ignore[attr-defined]
    assert status < 500, f"server error {status}: {response.text[:300]}"  # type: ignore[attr-defined]
    if status >= 400:
        body = response.json()  # type: ignore[attr-defined]
        assert set(body) == {"error"} and {"code", "message", "details"} <= set(body["error"])


def test_api_never_fails_on_any_input(fuzz_target: tuple[object, str]) -> None:
    app, key = fuzz_target
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [
        op
        for op in (result.ok() for result in schema.get_all_operations())
        if not op.path.startswith(UNFUZZED)
    ]
    assert len(operations) > 10
    headers = {"Authorization": f"Bearer {key}"}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
        def fuzz(case: schemathesis.Case) -> None:
            _error_shape(case.call(headers=headers))

        fuzz()
