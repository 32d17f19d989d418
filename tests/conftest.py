"""Shared fixtures: a clean environment, and a store on each database (the conformance
suite runs unchanged on SQLite and PostgreSQL)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import renderhouse.models.usage  # noqa: F401  (model_usage joins the truncation)
from renderhouse.store.database import Store
from renderhouse.store.migrate import upgrade
from renderhouse.store.schema import metadata
from renderhouse.store.schema_canons import canons as _canons  # noqa: F401  (the same)
from renderhouse.store.schema_pose import avatars as _avatars  # noqa: F401  (joins truncation)

REPO = Path(__file__).resolve().parents[1]
ASSETS = REPO / "tests" / "assets"
"""CC0 / CC BY test models shipped with the repository (``tests/assets/NOTICE.md``)."""
PG_ADMIN_URL = os.environ.get(
    "RENDERHOUSE_TEST_POSTGRES_URL", "postgresql://root@127.0.0.1:5432/postgres"
)


@pytest.fixture(autouse=True)
def _clean_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """No settings from the environment, and a data directory of the test's own: a command
    or runtime built without one would otherwise write the checkout's ./renderhouse-data
    (a generated secret key there then changes what later tests see)."""
    for key in list(os.environ):
        if key.startswith("RENDERHOUSE_") and not key.startswith("RENDERHOUSE_TEST_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("RENDERHOUSE_DATA_DIR", str(tmp_path_factory.mktemp("data")))


def _pg_available() -> str | None:
    import psycopg

    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}"


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh database for this test session, dropped afterwards."""
    import psycopg

    problem = _pg_available()
    if problem:
        pytest.skip(problem)  # a failure in CI: see pytest_runtest_makereport
    name = f"rh_test_{os.getpid()}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    url = f"{base}/{name}"
    store = Store(url)
    upgrade(store)
    store.dispose()
    yield url
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _truncate(store: Store) -> None:
    with store.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'renderhouse.db'}"
        store = Store(url)
        upgrade(store)
        store.dispose()
        yield url
    else:
        url = request.getfixturevalue("pg_url")
        store = Store(url)
        _truncate(store)
        store.dispose()
        yield url


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store(db_url)
    yield s
    s.dispose()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """In CI (``CI`` set, as ``.ci/run`` does) every capability a test needs is installed,
    so a skip there would hide a failure: report it as one, with the skip's reason."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if os.environ.get("CI") and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where nothing may be: {report.longrepr}"
