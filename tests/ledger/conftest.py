"""Ledger fixtures. Importing ``schema_ledger`` registers its tables on the shared metadata,
so the root conftest's truncation clears them between PostgreSQL tests too."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

import renderhouse.store.schema_auth
import renderhouse.store.schema_ledger  # noqa: F401
from renderhouse import accounts, ledger
from renderhouse.api import create_app, credits, payments
from renderhouse.api.state import EnqueueHook
from renderhouse.queue.clock import FakeClock
from renderhouse.queue.queue import JobQueue
from renderhouse.queue.retry import RetryPolicy
from renderhouse.runtime import Runtime
from renderhouse.settings import Settings
from renderhouse.store.database import Store
from tests.ledger.fake_duitku import API_KEY, MERCHANT, FakeDuitku, running_fake_duitku


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def queue(store: Store, clock: FakeClock) -> JobQueue:
    return ledger.install(
        JobQueue(store, clock=clock, policy=RetryPolicy(base=1, jitter=0), lease_seconds=10)
    )


def assert_books_clean(store: Store) -> ledger.Report:
    with store.read() as conn:
        report = ledger.reconcile(conn)
    assert report.ok, report.problems
    return report


# -- the HTTP API with the ledger's routers and hook, as create_app should include them --


@dataclass
class Api:
    app: FastAPI
    runtime: Runtime
    fake: FakeDuitku
    admin_key: str
    alice_key: str
    alice_id: str


STRIPE_SECRET = "whsec_test_secret"


@pytest.fixture
def api(db_url: str, tmp_path: Path) -> Iterator[Api]:
    with running_fake_duitku() as fake:
        settings = Settings(
            database_url=db_url,
            data_dir=tmp_path / "data",
            rate_limit="1000000/minute",
            rate_limit_global="1000000/minute",
            secret_key="test-secret-key-0123456789abcdef-xyz",
            duitku_merchant_code=MERCHANT,
            duitku_api_key=API_KEY,
            duitku_base_url=fake.url,
            stripe_webhook_secret=STRIPE_SECRET,
        )
        rt = Runtime(settings)
        app = create_app(settings, rt)
        paths = {getattr(r, "path", None) for r in app.routes}
        for module in (credits, payments):
            if not {getattr(r, "path", None) for r in module.router.routes} <= paths:
                app.include_router(module.router)
        if all(hook.run is not ledger.before_enqueue for hook in app.state.rh.before_enqueue):
            app.state.rh.before_enqueue.append(EnqueueHook(ledger.before_enqueue))
        with rt.store.begin() as conn:
            admin = accounts.create_user(conn, "root", is_admin=True)
            alice = accounts.create_user(conn, "alice")
            admin_key = accounts.create_key(conn, admin, scope="admin")
            alice_key = accounts.create_key(conn, alice)
        try:
            yield Api(app, rt, fake, admin_key, alice_key, alice.id)
        finally:
            duitku_client, app.state.rh.duitku_client = app.state.rh.duitku_client, None
            if duitku_client is not None:
                duitku_client.close()
            rt.close()


def client(app: FastAPI, key: str | None = None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers=headers
    )
