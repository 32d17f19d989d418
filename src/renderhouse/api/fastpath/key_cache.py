"""API keys this process has verified, kept fresh in the background.

A verified key is trusted for ``auth_cache_seconds`` (2 s by default) from its last check,
so a revocation, a disabled user or a changed scope reaches every API process within that
time. Re-checking an active key when its time runs out would put a database read (and a
thread hop) back on the request path every few seconds per key: at 500 req/s over 100 keys
that was a quarter of all requests. Instead a refresher thread re-checks every key in use,
all in one query, every third of that time, and a key in use never expires while the
database answers. If it stops answering, entries expire on time and requests go back to
verifying their key themselves, so the guarantee holds either way. The refresher also
records ``last_used_at`` (at most once a minute per key), which the request path used to
write."""

from __future__ import annotations

import hashlib
import logging
import threading
import time

from renderhouse import accounts
from renderhouse.accounts import User
from renderhouse.store.database import Store

log = logging.getLogger(__name__)

MAX_KEYS = 10_000
IDLE_SECONDS = 30.0
"""A key unused this long is forgotten (verified again on its next use)."""


class _Entry:
    __slots__ = ("checked", "touched", "used", "user")

    def __init__(self, user: User, now: float, touched: float) -> None:
        self.user = user
        self.checked = now  # monotonic: when the database last said the key is valid
        self.used = now  # monotonic
        self.touched = touched  # wall clock: last_used_at as we last wrote or read it


class KeyCache:
    def __init__(self, store: Store, ttl: float) -> None:
        self.store = store
        self.ttl = ttl
        self._entries: dict[bytes, _Entry] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        store.on_dispose(self.close)

    @staticmethod
    def _digest(token: str) -> bytes:
        return hashlib.sha256(token.encode()).digest()

    def get(self, token: str) -> User | None:
        """The user behind ``token`` if it was verified within ``ttl``; no I/O."""
        entry = self._entries.get(self._digest(token))
        if entry is None:
            return None
        now = time.monotonic()
        if now - entry.checked > self.ttl:
            return None
        entry.used = now
        return entry.user

    def put(self, token: str, user: User, *, touched: float) -> None:
        """Remember a key just verified against the database (``touched``: its
        ``last_used_at`` as now stored)."""
        if self.ttl <= 0 or user.key_prefix is None:
            return
        if len(self._entries) >= MAX_KEYS:
            self._entries.clear()
        self._entries[self._digest(token)] = _Entry(user, time.monotonic(), touched)
        self._start()

    def forget(self, token: str) -> None:
        self._entries.pop(self._digest(token), None)

    def clear(self) -> None:
        """Forget every key (this process revoked one)."""
        self._entries.clear()

    def close(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join(5)
            self._stop.clear()

    def _start(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="api-key-refresh", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        interval = max(self.ttl / 3, 0.05)
        while not self._stop.wait(interval):
            try:
                self.refresh()
            except Exception as exc:  # the entries expire on time; requests verify again
                log.warning("could not re-check API keys: %s", exc)
            with self._lock:
                if not self._entries and self._thread is threading.current_thread():
                    self._thread = None  # nothing in use: the next ``put`` starts another
                    return

    def refresh(self) -> None:
        """Re-check every key in use in one query; forget revoked and idle ones."""
        started, wall = time.monotonic(), time.time()
        entries = list(self._entries.items())
        live = [(d, e) for d, e in entries if started - e.used <= IDLE_SECONDS]
        for digest, entry in entries:
            if started - entry.used > IDLE_SECONDS and self._entries.get(digest) is entry:
                self._entries.pop(digest, None)
        if not live:
            return
        prefixes = sorted({str(e.user.key_prefix) for _, e in live})
        stale = {
            str(e.user.key_prefix)
            for _, e in live
            if wall - e.touched > accounts.LAST_USED_RESOLUTION
        }
        if stale:
            with self.store.begin() as conn:
                accounts.touch_keys(conn, sorted(stale), wall)
        with self.store.read() as conn:
            valid = accounts.live_keys(conn, prefixes)
        for digest, entry in live:
            if self._entries.get(digest) is not entry:
                continue  # replaced or forgotten meanwhile
            user = valid.get(str(entry.user.key_prefix))
            if user is None:
                self._entries.pop(digest, None)
                continue
            entry.user, entry.checked = user, started
            if entry.user.key_prefix in stale:
                entry.touched = wall
