"""Readiness checks that answer in microseconds: each check's last result is cached for
``ttl`` seconds, and a stale result is served while one background thread refreshes it
(stale-while-revalidate), so a slow database or S3 endpoint never makes ``/health/ready``
itself slow, and a load balancer polling it never piles up probes. Only the very first
call of a check runs inline."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from renderhouse.runtime import Runtime

Check = Callable[[], str | None]
"""Raises when unhealthy; may return a detail string."""


@dataclass
class Result:
    ok: bool
    detail: str | None
    checked_at: float
    ms: float


class CachedCheck:
    def __init__(self, name: str, fn: Check, ttl: float = 1.0) -> None:
        self.name, self.fn, self.ttl = name, fn, ttl
        self._result: Result | None = None
        self._lock = threading.Lock()
        self._refreshing = False
        self._thread: threading.Thread | None = None

    def _run(self) -> Result:
        started = time.perf_counter()
        try:
            detail, ok = self.fn(), True
        except Exception as exc:
            detail, ok = f"{type(exc).__name__}: {exc}", False
        ms = round((time.perf_counter() - started) * 1000, 2)
        return Result(ok, detail, time.monotonic(), ms)

    def _refresh(self) -> None:
        try:
            self._result = self._run()
        finally:
            self._refreshing = False

    def get(self) -> Result:
        current = self._result
        if current is None:
            with self._lock:
                if self._result is None:
                    self._result = self._run()
                return self._result
        if time.monotonic() - current.checked_at > self.ttl:
            with self._lock:
                if not self._refreshing:
                    self._refreshing = True
                    self._thread = threading.Thread(target=self._refresh, daemon=True)
                    self._thread.start()
        return current


class Readiness:
    def __init__(self, checks: Sequence[tuple[str, Check]], ttl: float = 1.0) -> None:
        self.checks = [CachedCheck(name, fn, ttl) for name, fn in checks]

    def settle(self, timeout: float = 10.0) -> None:
        """Wait for background refreshes, before closing the store they may be using
        (a connection checked out across ``dispose`` is never closed)."""
        for check in self.checks:
            if check._thread is not None:
                check._thread.join(timeout)

    def results(self) -> tuple[bool, dict[str, Any]]:
        out: dict[str, Any] = {}
        for check in self.checks:
            r = check.get()
            out[check.name] = {
                "ok": r.ok,
                "detail": r.detail,
                "ms": r.ms,
                "age_s": round(time.monotonic() - r.checked_at, 3),
            }
        return all(v["ok"] for v in out.values()), out


# -- the checks ------------------------------------------------------------------------------
@cache
def _head() -> str:
    from renderhouse.store.migrate import head_revision

    return head_revision()


def database(rt: Runtime) -> Check:
    def check() -> str:
        from renderhouse.errors import SchemaOutdated
        from renderhouse.store.migrate import current_revision

        current = current_revision(rt.store)
        if current != _head():
            raise SchemaOutdated(f"schema at {current}, code needs {_head()}: run db upgrade")
        return f"schema {current}"

    return check


def storage(rt: Runtime) -> Check:
    def check() -> None:
        rt.storage.check_writable()

    return check


def redis(url: str) -> Check:
    def check() -> None:
        import redis as redis_lib

        client = redis_lib.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        try:
            client.ping()
        finally:
            client.close()

    return check


def workers(rt: Runtime, kinds: Sequence[str], stale_after: float | None = None) -> Check:
    """At least one worker with a fresh heartbeat for each of ``kinds``."""

    def check() -> str:
        from renderhouse.worker.registration import live_workers

        window = stale_after or max(3 * rt.settings.heartbeat_seconds, rt.settings.lease_seconds)
        alive = live_workers(rt.store, rt.queue.clock.now(), window)
        covered = {k for w in alive for k in w["kinds"]}  # type: ignore[attr-defined]
        missing = sorted(set(kinds) - covered)
        if missing:
            raise RuntimeError(f"no live worker for {', '.join(missing)}")
        return f"{len(alive)} live worker(s)"

    return check


def standard_checks(rt: Runtime, *, expect_workers: bool) -> list[tuple[str, Check]]:
    checks = [("database", database(rt)), ("storage", storage(rt))]
    if rt.settings.redis_url:
        checks.append(("redis", redis(rt.settings.redis_url)))
    if expect_workers:
        checks.append(("workers", workers(rt, rt.registry.kinds())))
    return checks
