"""Test support: PostgreSQL faults on a test database — its backends terminated in a loop
(``pg_terminate_backend``), or the whole database refusing connections for a while."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from tests.conftest import PG_ADMIN_URL


def _terminate(admin: psycopg.Connection, database: str) -> int:
    rows = admin.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = %s AND pid <> pg_backend_pid()",
        (database,),
    ).fetchall()
    return len(rows)


@contextmanager
def terminating_backends(url: str, every: float = 0.05) -> Iterator[list[int]]:
    """Terminate every backend of ``url``'s database every ``every`` seconds; yields a list
    whose one item counts the backends terminated so far."""
    database = url.rsplit("/", 1)[-1]
    killed, stop = [0], threading.Event()

    def loop() -> None:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            while not stop.is_set():
                killed[0] += _terminate(admin, database)
                stop.wait(every)

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    try:
        yield killed
    finally:
        stop.set()
        t.join(10)


@contextmanager
def database_down(url: str) -> Iterator[None]:
    """No connection to ``url``'s database succeeds inside the block (as while a server
    restarts); its existing backends are terminated on entry."""
    database = url.rsplit("/", 1)[-1]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS false')
        try:
            _terminate(admin, database)
            yield
        finally:
            admin.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS true')
