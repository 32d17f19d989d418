"""``POST /v1/system/optimize`` and ``renderhouse cleanup``: give back memory and disk, and
say exactly what was freed. Everything here is safe while jobs run: only temporary files
older than ``TEMP_MIN_AGE`` go (a running job's are younger), and only finished jobs past
the retention period are pruned, their stored artifacts deleted first."""

from __future__ import annotations

import ctypes
import gc
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import text

from renderhouse.queue.pruner import prune
from renderhouse.runtime import Runtime
from renderhouse.store.database import Store

TEMP_MIN_AGE = 3600.0
TEMP_PREFIXES = ("turntable-", "renderhouse-")
OptimizeType = Literal["memory", "disk", "full"]


def free_memory() -> dict[str, Any]:
    import psutil

    proc = psutil.Process()
    before = proc.memory_info().rss
    collected = gc.collect()
    try:  # hand freed heap pages back to the OS (glibc keeps them otherwise)
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    after = proc.memory_info().rss
    return {
        "objects_collected": collected,
        "rss_before": before,
        "rss_after": after,
        "freed_bytes": max(0, before - after),
    }


def _old_entries(root: Path, now: float, names: tuple[str, ...] | None = None) -> list[Path]:
    if not root.is_dir():
        return []
    out = []
    for entry in root.iterdir():
        if names is not None and not entry.name.startswith(names):
            continue
        try:
            if now - entry.lstat().st_mtime >= TEMP_MIN_AGE:
                out.append(entry)
        except FileNotFoundError:
            continue
    return out


def _size(path: Path) -> int:
    if path.is_symlink() or path.is_file():
        return path.lstat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file())


def clear_temp(rt: Runtime, now: float | None = None) -> dict[str, int]:
    """Old entries of ``data_dir/tmp``, abandoned generator work directories in the system
    temp dir, and half-written ``.tmp-*`` files of local storage."""
    now = time.time() if now is None else now
    victims = _old_entries(rt.settings.data_dir / "tmp", now)
    victims += _old_entries(Path(tempfile.gettempdir()), now, TEMP_PREFIXES)
    root = getattr(rt.storage, "root", None)
    if isinstance(root, Path) and root.is_dir():
        victims += [
            p
            for p in root.rglob(".tmp-*")
            if p.is_file() and now - p.stat().st_mtime >= TEMP_MIN_AGE
        ]
    files = freed = 0
    for path in victims:
        try:
            freed += _size(path)
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
            files += 1
        except OSError:
            continue
    return {"temp_entries": files, "temp_bytes": freed}


def prune_expired(rt: Runtime) -> dict[str, int]:
    """Finished jobs past ``retention_days`` (queue/pruner.py), with their artifacts."""
    deleted = {"artifacts": 0, "bytes": 0}

    def on_artifact(art: dict[str, Any]) -> None:
        rt.storage.delete(art["key"])
        deleted["artifacts"] += 1
        deleted["bytes"] += int(art.get("size") or 0)

    jobs = 0
    while n := prune(rt.queue, rt.settings.retention_days * 86_400.0, on_artifact):
        jobs += n
    return {"jobs_pruned": jobs, "artifacts_deleted": deleted["artifacts"],
            "artifact_bytes": deleted["bytes"]}  # fmt: skip


def database_size(store: Store) -> int:
    if store.is_sqlite:
        path = Path(str(store.engine.url.database))
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())
    with store.read() as conn:
        return int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one())


def vacuum(store: Store) -> dict[str, int]:
    """VACUUM and ANALYZE outside any transaction (both databases refuse them inside one)."""
    before = database_size(store)
    if store.is_sqlite:
        raw = store.engine.raw_connection()
        try:
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[attr-defined]
            raw.execute("VACUUM")  # type: ignore[attr-defined]
            raw.execute("ANALYZE")  # type: ignore[attr-defined]
        finally:
            raw.close()
    else:
        with store.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
    after = database_size(store)
    return {"db_bytes_before": before, "db_bytes_after": after,
            "db_freed_bytes": max(0, before - after)}  # fmt: skip


def optimize(rt: Runtime, kind: OptimizeType) -> dict[str, Any]:
    started = time.perf_counter()
    out: dict[str, Any] = {"type": kind}
    if kind in ("memory", "full"):
        out["memory"] = free_memory()
    if kind in ("disk", "full"):
        disk = {**clear_temp(rt), **prune_expired(rt), **vacuum(rt.store)}
        disk["freed_bytes"] = disk["temp_bytes"] + disk["artifact_bytes"] + disk["db_freed_bytes"]
        out["disk"] = disk
    out["took_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return out
