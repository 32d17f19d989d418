"""How long the database's disk takes to make a write durable, sampled while a benchmark
runs: a commit cannot be faster than its WAL flush, so a phase's slowest requests are read
beside the slowest flushes of the same seconds (``api_load.py`` prints both).

The probe writes 8 KiB and ``fdatasync``s it every 50 ms, in a file next to PostgreSQL's
data directory when this user may write there (else in the system's temp directory, which
may be another disk: the report names the directory)."""

from __future__ import annotations

import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psycopg

INTERVAL_SECONDS = 0.05
BLOCK = b"\0" * 8192


def data_directory(conninfo: str) -> Path | None:
    """PostgreSQL's data directory if the server tells us and this user can write next to
    it (it needs superuser or ``pg_read_all_settings``)."""
    try:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            row = conn.execute("SHOW data_directory").fetchone()
    except psycopg.Error:
        return None
    if row is None:
        return None
    path = Path(row[0]).parent
    return path if os.access(path, os.W_OK) else None


class FsyncProbe:
    """``with FsyncProbe(directory) as probe: ...`` then ``probe.summary()``."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory or Path(tempfile.gettempdir())
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fsync-probe", daemon=True)

    def __enter__(self) -> FsyncProbe:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        fd, name = tempfile.mkstemp(prefix="rh-fsync-probe-", dir=self.directory)
        try:
            while not self._stop.wait(INTERVAL_SECONDS):
                os.write(fd, BLOCK)
                started = time.perf_counter()
                os.fdatasync(fd)
                self.samples.append((time.perf_counter() - started) * 1000)
        finally:
            os.close(fd)
            os.unlink(name)

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.samples)
        if not ordered:
            return {"dir": str(self.directory), "samples": 0}

        def at(p: float) -> float:
            return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 2)

        return {
            "dir": str(self.directory),
            "samples": len(ordered),
            "p50_ms": at(50),
            "p99_ms": at(99),
            "max_ms": round(ordered[-1], 2),
            "over_25ms": sum(1 for s in ordered if s > 25),
        }
