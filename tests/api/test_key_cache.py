"""The API key cache (``api/key_cache.py``): a key in use stays trusted past its ttl while a
background thread re-checks it, so requests never verify it again themselves; a key revoked
or a user disabled by another process is refused within the ttl; ``last_used_at`` is written
from the background at most once per ``accounts.LAST_USED_RESOLUTION``; and the refresher
thread stops with the cache or its store.

Database reads are counted with SQLAlchemy's ``before_cursor_execute`` on the app's engine,
by statement and by the thread that ran it (the refresher is ``api-key-refresh``)."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, select, update

from renderhouse import accounts
from renderhouse.accounts import User
from renderhouse.api import create_app
from renderhouse.api.fastpath.key_cache import KeyCache
from renderhouse.runtime import Runtime
from renderhouse.settings import Settings
from renderhouse.store.database import Store
from renderhouse.store.schema_auth import api_keys, users
from tests.api.conftest import Users, assert_error, client_for

pytestmark = pytest.mark.anyio

TTL = 0.3
MARGIN = 0.5
REFRESHER = "api-key-refresh"


@dataclass
class Statement:
    at: float
    thread: str
    sql: str


@dataclass
class Log:
    statements: list[Statement] = field(default_factory=list)

    def key_reads(self, *, refresher: bool) -> list[Statement]:
        """SELECTs of ``api_keys`` (``verify_key`` on the request path, ``live_keys`` in
        the refresher)."""
        return [
            s
            for s in self.statements
            if s.sql.lstrip().upper().startswith("SELECT")
            and "api_keys" in s.sql
            and (s.thread == REFRESHER) == refresher
        ]

    def key_writes(self) -> list[Statement]:
        return [s for s in self.statements if s.sql.lstrip().upper().startswith("UPDATE API_KEYS")]

    def clear(self) -> None:
        self.statements.clear()


@contextmanager
def statements(store: Store) -> Iterator[Log]:
    log = Log()

    def record(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        log.statements.append(Statement(time.time(), threading.current_thread().name, sql))

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        yield log
    finally:
        event.remove(store.engine, "before_cursor_execute", record)


@pytest.fixture
async def quick_app(settings: Settings, runtime: Runtime) -> Any:
    app = create_app(settings.model_copy(update={"auth_cache_seconds": TTL}), runtime)
    yield app
    await app.state.rh.close()


def _entry(app: FastAPI, token: str) -> Any:
    keys: KeyCache = app.state.rh.keys
    return keys._entries.get(keys._digest(token))


def _refreshers() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name == REFRESHER}


def _last_used(rt: Runtime, token: str) -> float | None:
    prefix = token[len(accounts.KEY_TAG) :].partition("_")[0]
    with rt.store.read() as conn:
        value = conn.execute(
            select(api_keys.c.last_used_at).where(api_keys.c.prefix == prefix)
        ).scalar_one()
    return None if value is None else float(value)


async def _use(client: httpx.AsyncClient, i: int) -> httpx.Response:
    """One request on the lane (POST) or the FastAPI route (GET), alternately."""
    if i % 2:
        return await client.post("/v1/jobs", json={"kind": "noop"})
    return await client.get("/v1/jobs", params={"limit": 1})


# -- a key in use stays cached ---------------------------------------------------------------
async def test_key_in_use_is_never_verified_again_on_the_request_path(
    quick_app: FastAPI, runtime: Runtime, users: Users
) -> None:
    with statements(runtime.store) as log:
        async with client_for(quick_app, users.alice) as alice:
            assert (await alice.get("/v1/jobs")).status_code == 200
            assert len(log.key_reads(refresher=False)) == 1  # verified once, by the request
            entry = _entry(quick_app, users.alice)
            assert entry is not None
            log.clear()
            checks = [entry.checked]
            started = time.monotonic()
            i = 0
            while time.monotonic() - started < 5 * TTL:
                r = await _use(alice, i)
                assert r.status_code in (200, 201), r.text
                i += 1
                if entry.checked != checks[-1]:
                    checks.append(entry.checked)
                await asyncio.sleep(0.02)
            assert _entry(quick_app, users.alice) is entry  # the same entry, kept fresh
    assert log.key_reads(refresher=False) == [], [s.thread for s in log.key_reads(refresher=False)]
    assert len(log.key_reads(refresher=True)) >= 4  # re-checked in the background
    assert len(checks) >= 5, checks  # every ttl/3 or so
    assert checks == sorted(checks)
    assert time.monotonic() - checks[-1] <= TTL


async def test_unrefreshed_key_expires_and_is_verified_again(
    quick_app: FastAPI, runtime: Runtime, users: Users
) -> None:
    """Without its refresher an entry lasts its ttl, then the request verifies again."""
    keys: KeyCache = quick_app.state.rh.keys
    async with client_for(quick_app, users.alice) as alice:
        assert (await alice.get("/v1/jobs")).status_code == 200
        assert keys.get(users.alice) is not None
        await anyio.to_thread.run_sync(keys.close)  # no refresher: the entry ages
        await asyncio.sleep(TTL + 0.1)
        assert keys.get(users.alice) is None
        with statements(runtime.store) as log:
            assert (await alice.get("/v1/jobs")).status_code == 200
        assert len(log.key_reads(refresher=False)) == 1
        assert keys.get(users.alice) is not None


async def test_cache_disabled_verifies_every_request(
    settings: Settings, runtime: Runtime, users: Users
) -> None:
    app = create_app(settings.model_copy(update={"auth_cache_seconds": 0}), runtime)
    try:
        with statements(runtime.store) as log:
            async with client_for(app, users.alice) as alice:
                for i in range(4):
                    assert (await _use(alice, i)).status_code in (200, 201)
        assert len(log.key_reads(refresher=False)) == 4
        assert app.state.rh.keys._entries == {}
        assert app.state.rh.keys._thread is None
    finally:
        await app.state.rh.close()


# -- another process's revocation ------------------------------------------------------------
def _revoke(rt: Runtime, token: str, _user_id: str) -> None:
    with rt.store.begin() as conn:
        accounts.revoke_key(conn, token[len(accounts.KEY_TAG) :].partition("_")[0])


def _disable(rt: Runtime, _token: str, user_id: str) -> None:
    with rt.store.begin() as conn:
        conn.execute(update(users).where(users.c.id == user_id).values(disabled=True))


@pytest.mark.parametrize("change", [_revoke, _disable], ids=["revoked", "disabled"])
@pytest.mark.parametrize("watch", ["in_use", "idle"])
async def test_refused_within_ttl_after_a_change_elsewhere(
    quick_app: FastAPI, runtime: Runtime, users: Users, change: Any, watch: str
) -> None:
    """``in_use``: requests keep coming and are refused within the ttl. ``idle``: nobody
    asks; the refresher alone forgets the key (an entry it merely stopped re-checking would
    stay in the cache, expired, until a request found it)."""
    async with (
        client_for(quick_app, users.alice) as alice,
        client_for(quick_app, users.bob) as bob,
    ):
        for i in range(6):  # cached and in use, past a ttl
            assert (await _use(alice, i)).status_code in (200, 201)
            assert (await _use(bob, i)).status_code in (200, 201)
            await asyncio.sleep(TTL / 4)
        assert _entry(quick_app, users.alice) is not None
        await anyio.to_thread.run_sync(change, runtime, users.alice, users.alice_id)
        changed = time.monotonic()
        after = None
        i = 0
        while after is None and time.monotonic() - changed < TTL + MARGIN + 1.0:
            if watch == "in_use":
                r = await _use(alice, i)
                i += 1
                if r.status_code == 401:
                    after = time.monotonic() - changed
                    assert_error(r, 401, "unauthorized")
                else:
                    assert r.status_code in (200, 201), r.text
            elif _entry(quick_app, users.alice) is None:
                after = time.monotonic() - changed
            await asyncio.sleep(0.02)
        assert after is not None and after <= TTL + MARGIN, after
        # Refused from now on, on the lane's path and the route's.
        for i in range(4):
            assert_error(await _use(alice, i), 401, "unauthorized")
        assert _entry(quick_app, users.alice) is None
        # Bob is untouched by alice's change.
        assert (await _use(bob, 1)).status_code == 201
        assert _entry(quick_app, users.bob) is not None


async def test_refresher_keeps_a_changed_scope(
    quick_app: FastAPI, runtime: Runtime, users: Users
) -> None:
    """A re-check replaces the cached user with what the database says now."""
    async with client_for(quick_app, users.admin) as admin:
        assert (await admin.get("/v1/admin/users")).status_code == 200
        with runtime.store.begin() as conn:
            prefix = users.admin[len(accounts.KEY_TAG) :].partition("_")[0]
            conn.execute(update(api_keys).where(api_keys.c.prefix == prefix).values(scope="user"))
        deadline = time.monotonic() + TTL + MARGIN
        while time.monotonic() < deadline:
            r = await admin.get("/v1/admin/users")
            if r.status_code == 403:
                break
            await asyncio.sleep(0.02)
        assert_error(r, 403, "forbidden")


# -- last_used_at ----------------------------------------------------------------------------
async def test_last_used_written_at_most_once_per_resolution(
    quick_app: FastAPI, runtime: Runtime, users: Users
) -> None:
    assert _last_used(runtime, users.alice) is None
    with statements(runtime.store) as log:
        async with client_for(quick_app, users.alice) as alice:
            t0 = time.time()
            assert (await alice.get("/v1/jobs")).status_code == 200
            first = _last_used(runtime, users.alice)
            assert first is not None and first >= t0 - 1
            assert len(log.key_writes()) == 1
            for i in range(40):  # ~1 s of use: far within the 60 s resolution
                assert (await _use(alice, i)).status_code in (200, 201)
                await asyncio.sleep(0.02)
    assert len(log.key_writes()) == 1
    assert _last_used(runtime, users.alice) == first


async def test_refresher_records_last_use(
    quick_app: FastAPI, runtime: Runtime, users: Users, monkeypatch: pytest.MonkeyPatch
) -> None:
    resolution = 0.4
    monkeypatch.setattr(accounts, "LAST_USED_RESOLUTION", resolution)
    with statements(runtime.store) as log:
        async with client_for(quick_app, users.alice) as alice:
            assert (await alice.get("/v1/jobs")).status_code == 200
            first = _last_used(runtime, users.alice)
            assert first is not None
            started = time.monotonic()
            i = 0
            while time.monotonic() - started < 6 * resolution:
                assert (await _use(alice, i)).status_code in (200, 201)
                i += 1
                await asyncio.sleep(0.02)
            latest = _last_used(runtime, users.alice)
    writes = log.key_writes()
    background = [w for w in writes if w.thread == REFRESHER]
    assert background == writes[1:]  # after the first verification, only the refresher
    assert len(background) >= 3, [w.at for w in writes]
    gaps = [b.at - a.at for a, b in itertools.pairwise(writes)]
    assert min(gaps) >= resolution - 0.05, gaps
    assert latest is not None and latest > first + 2 * resolution


# -- the refresher thread stops -------------------------------------------------------------
async def test_close_stops_the_refresher(
    quick_app: FastAPI, runtime: Runtime, users: Users
) -> None:
    before = _refreshers()
    keys: KeyCache = quick_app.state.rh.keys
    async with client_for(quick_app, users.alice) as alice:
        assert (await alice.get("/v1/jobs")).status_code == 200
        thread = keys._thread
        assert thread is not None and thread.is_alive() and thread.name == REFRESHER
        await anyio.to_thread.run_sync(keys.close)
        assert not thread.is_alive() and keys._thread is None
        assert _refreshers() - before == set()
        # In use again (an app's lifespan may run twice): a new refresher, stopped again.
        await asyncio.sleep(TTL + 0.05)
        assert (await alice.get("/v1/jobs")).status_code == 200
        again = keys._thread
        assert again is not None and again is not thread and again.is_alive()
    await anyio.to_thread.run_sync(keys.close)
    assert not again.is_alive()
    assert _refreshers() - before == set()


def _verified(store: Store, token: str) -> User:
    with store.read() as conn:
        found = accounts.verify_key(conn, token)
    assert found is not None
    return found[0]


async def test_store_dispose_stops_the_refresher(db_url: str, users: Users) -> None:
    before = _refreshers()
    store = Store(db_url)
    try:
        keys = KeyCache(store, TTL)
        keys.put(users.alice, _verified(store, users.alice), touched=time.time())
        thread = keys._thread
        assert thread is not None and thread.is_alive()
        await asyncio.sleep(TTL)  # let it refresh at least once
        assert keys.get(users.alice) is not None
    finally:
        await anyio.to_thread.run_sync(store.dispose)
    assert not thread.is_alive()
    assert _refreshers() - before == set()


async def test_refresher_exits_when_nothing_is_cached(db_url: str, users: Users) -> None:
    store = Store(db_url)
    try:
        keys = KeyCache(store, 0.15)
        keys.put(users.alice, _verified(store, users.alice), touched=time.time())
        thread = keys._thread
        assert thread is not None
        keys.forget(users.alice)
        await anyio.to_thread.run_sync(thread.join, 2)
        assert not thread.is_alive() and keys._thread is None
        keys.put(users.bob, _verified(store, users.bob), touched=time.time())
        assert keys._thread is not None and keys._thread.is_alive()
        assert keys.get(users.bob) is not None
    finally:
        await anyio.to_thread.run_sync(store.dispose)
    assert keys._thread is None


async def test_entries_expire_on_time_when_the_database_is_unreachable(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A refresher that cannot re-check must not keep keys alive past their ttl."""
    store = Store(f"sqlite:///{tmp_path / 'no-schema.db'}")  # every query fails
    try:
        keys = KeyCache(store, 0.2)
        user = User("u_1", "alice", None, False, "user", "abc123")
        keys.put("rh_live_abc123_secret", user, touched=time.time() - 3600)
        assert keys.get("rh_live_abc123_secret") == user
        await asyncio.sleep(0.2 + 0.15)
        assert keys.get("rh_live_abc123_secret") is None
        assert any("could not re-check API keys" in m for m in caplog.messages)
    finally:
        await anyio.to_thread.run_sync(store.dispose)
