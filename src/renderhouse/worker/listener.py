"""PostgreSQL LISTEN/NOTIFY wake-ups for workers, on a thread with its own connection.
It reconnects by itself (with backoff) after the connection drops or the server restarts;
while it is down, workers fall back to polling."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from renderhouse.store.dialect import NOTIFY_CHANNEL

log = logging.getLogger(__name__)


class Listener:
    def __init__(self, dsn: str, on_notify: Callable[[str], object]) -> None:
        self.dsn = dsn.replace("postgresql+psycopg://", "postgresql://")
        self.on_notify = on_notify
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="rh-listener")
        self.reconnects = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        import psycopg

        backoff = 0.2
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.dsn, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    self.connected.set()
                    log.info("listening for job notifications on %s", NOTIFY_CHANNEL)
                    backoff = 0.2
                    # A missed notify while we were down is covered by a wake-up on connect.
                    self.on_notify("*")
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=1.0):
                            for payload in note.payload.split(","):  # see notify_sender
                                if self._stop.is_set():
                                    return  # the worker stopped: its loop may be closed
                                self.on_notify(payload)
            except psycopg.Error as exc:
                if self.connected.is_set():
                    log.warning("lost the LISTEN connection (%s); reconnecting", exc)
                self.connected.clear()
                self.reconnects += 1
                self._stop.wait(backoff)
                backoff = min(5.0, backoff * 2)
