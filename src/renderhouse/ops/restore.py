"""``renderhouse restore PATH``: put a backup made by ``ops.backup`` back, then prove it:
the row count of every table equals the manifest's, every artifact in the manifest is in
storage with its size (and sha256 when the files were in the backup), and the credits
ledger reconciles. A restore replaces the database, so it refuses while a worker or a server
is using it (``in_use``) unless forced."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

from renderhouse.ops.backup import MANIFEST, BackupError, libpq_target, table_counts
from renderhouse.runtime import Runtime


class RestoreVerificationFailed(BackupError):
    code = "restore_verification_failed"


class DatabaseInUse(BackupError):
    code = "database_in_use"


def users_of_database(rt: Runtime) -> list[str]:
    """Who else is using the target database: workers whose heartbeat is recent (``serve``
    runs one), and on SQLite any other local process holding the file open (an API node)."""
    from renderhouse.worker.registration import recent_workers

    found = []
    if rt.store.is_sqlite and not Path(str(rt.store.engine.url.database)).exists():
        return []
    fresh = time.time() - 3 * rt.settings.heartbeat_seconds
    found += [f"worker pid {pid} on {host}" for host, pid in recent_workers(rt.store, fresh)]
    if rt.store.is_sqlite:
        found += [
            f"process {pid}" for pid in _processes_holding(Path(str(rt.store.engine.url.database)))
        ]
    return found


def _processes_holding(path: Path) -> list[int]:
    """Other processes (visible to us in /proc) with ``path`` open."""
    target, mine, pids = str(path.resolve()), os.getpid(), []
    for entry in Path("/proc").glob("[0-9]*"):
        if int(entry.name) == mine:
            continue
        try:
            fds = list((entry / "fd").iterdir())
            if any(os.readlink(fd) == target for fd in fds):
                pids.append(int(entry.name))
        except OSError:  # gone, or not ours to look at
            continue
    return sorted(pids)


def read_manifest(src: Path) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads((src / MANIFEST).read_text())
    except FileNotFoundError as exc:
        raise BackupError(f"{src} holds no {MANIFEST}: is it a Renderhouse backup?") from exc
    return manifest


def restore_backup(rt: Runtime, src: Path, *, force: bool = False) -> dict[str, Any]:
    """Restore and verify; returns the verification report, raises
    ``RestoreVerificationFailed`` (with the report in ``details``) if anything differs, and
    ``DatabaseInUse`` if a worker or server uses the database (unless ``force``)."""
    manifest = read_manifest(src)
    users = [] if force else users_of_database(rt)
    if users:
        raise DatabaseInUse(
            f"the database is in use ({', '.join(users[:5])}): stop the server and workers "
            "first, or pass --force to replace it under them",
            details={"users": users},
        )
    dialect = rt.store.engine.dialect.name
    if manifest["dialect"] != dialect:
        raise BackupError(
            f"this backup is of a {manifest['dialect']} database and the target is {dialect}; "
            "restore into the same kind of database, then migrate the data with your own tools"
        )
    rt.store.dispose()  # no pooled connection may hold the old database open
    if rt.store.is_sqlite:
        _restore_sqlite(src / manifest["database"], Path(str(rt.store.engine.url.database)))
    else:
        _restore_postgres(rt, src / manifest["database"])
    restored = _restore_artifacts(rt, manifest, src / "artifacts")
    report = verify(rt, manifest)
    report["artifacts_restored"] = restored
    if report["problems"]:
        raise RestoreVerificationFailed(
            f"the restore did not verify: {'; '.join(report['problems'][:5])}", details=report
        )
    return report


def _restore_sqlite(backup_file: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(str(backup_file))
    dest = sqlite3.connect(str(target))
    try:
        source.backup(dest)  # page by page into the live file, WAL included
    finally:
        dest.close()
        source.close()


def _restore_postgres(rt: Runtime, dump: Path) -> None:
    uri, env = libpq_target(rt.store)
    proc = subprocess.run(
        ["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges",
         "--single-transaction", "--exit-on-error", f"--dbname={uri}", str(dump)],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise BackupError(f"pg_restore failed: {proc.stderr.strip()}")


def _restore_artifacts(rt: Runtime, manifest: dict[str, Any], root: Path) -> int:
    """Put back the files a backup holds when storage lacks them or holds other bytes."""
    if not manifest.get("artifacts_included"):
        return 0
    restored = 0
    for art in [*manifest["artifacts"], *manifest.get("upload_files", [])]:
        path = root / art["key"]
        if art.get("missing") or not path.is_file():
            continue
        if rt.storage.exists(art["key"]) and _stored_sha256(rt, art["key"]) == art["sha256"]:
            continue
        rt.storage.put_file(art["key"], path, art.get("content_type") or "application/octet-stream")
        restored += 1
    return restored


def _stored_sha256(rt: Runtime, key: str) -> str:
    import hashlib

    digest = hashlib.sha256()
    with rt.storage.open(key) as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def verify(rt: Runtime, manifest: dict[str, Any]) -> dict[str, Any]:
    problems: list[str] = []
    with rt.store.read() as conn:
        counts = table_counts(conn)
    tables = {}
    for name, expected in manifest["tables"].items():
        actual = counts.get(name)
        tables[name] = {"expected": expected, "actual": actual}
        if actual != expected:
            problems.append(f"table {name}: {actual} rows, the backup had {expected}")
    checked = missing = 0
    for art in manifest["artifacts"]:
        if art.get("missing"):
            continue
        checked += 1
        if not rt.storage.exists(art["key"]) or rt.storage.size(art["key"]) != art["size"]:
            missing += 1
            if missing <= 10:
                problems.append(f"artifact {art['key']} is missing or has another size")
    for up in manifest.get("uploads", []):
        checked += 1
        if not rt.storage.exists(up["key"]):
            missing += 1
            if missing <= 10:
                problems.append(f"upload {up['key']} is missing")
    if missing > 10:
        problems.append(f"... {missing} files missing in all")
    ledger = reconcile_ledger(rt)
    if ledger.get("checked") and not ledger.get("ok"):
        problems.append(f"the ledger does not reconcile: {ledger.get('problems')}")
    return {
        "tables": tables,
        "artifacts_checked": checked,
        "artifacts_missing": missing,
        "ledger": ledger,
        "problems": problems,
    }


def reconcile_ledger(rt: Runtime) -> dict[str, Any]:
    """Run the credits ledger's reconcile when this build has one (it is optional here)."""
    try:
        from renderhouse.ledger import reconcile
    except ImportError:
        return {"checked": False, "reason": "no credits ledger in this build"}
    with rt.store.read() as conn:
        report = reconcile(conn)
    return {"checked": True, **report.to_dict()}
