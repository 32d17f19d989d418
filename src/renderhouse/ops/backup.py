"""``renderhouse backup PATH``: a consistent copy of the database plus a manifest of every
stored artifact and upload (key, size, sha256), and the files themselves, so the backup
restores on another machine. On remote storage (S3) the files stay where they are by
default: the backup checks that each one still exists and says so.

The row counts and the artifact manifest are read from the *same snapshot* as the database
copy (the SQLite backup file itself; on PostgreSQL a ``REPEATABLE READ`` transaction whose
snapshot ``pg_dump --snapshot`` reuses), so ``restore`` can verify exactly what it got.

Layout of a backup directory::

    manifest.json       format, time, dialect, schema revision, row counts, artifacts
    database.sqlite     SQLite online backup (``sqlite3.Connection.backup``), or
    database.dump       ``pg_dump --format=custom``
    artifacts/<key>     stored files (artifacts ``jobs/…`` and uploads ``uploads/…``), only
                        with ``include_artifacts``
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, inspect, text
from sqlalchemy.engine import make_url

from renderhouse.errors import RenderhouseError
from renderhouse.queue import control
from renderhouse.runtime import Runtime
from renderhouse.store.database import Store
from renderhouse.store.migrate import current_revision
from renderhouse.uploads import upload_manifest

FORMAT = 1
MANIFEST = "manifest.json"


class BackupError(RenderhouseError):
    code = "backup_failed"


def libpq_target(store: Store) -> tuple[str, dict[str, str]]:
    """(libpq URI without password, environment with PGPASSWORD): the password never
    appears on a command line, where every user of the machine could read it."""
    url = make_url(store.url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def table_counts(conn: Connection) -> dict[str, int]:
    names = sorted(inspect(conn).get_table_names())
    return {n: int(conn.execute(text(f'SELECT count(*) FROM "{n}"')).scalar_one()) for n in names}


def _snapshot(conn: Connection) -> dict[str, Any]:
    return {
        "tables": table_counts(conn),
        "artifacts": control.artifact_manifest(conn),
        "uploads": upload_manifest(conn),
    }


def create_backup(rt: Runtime, dest: Path, *, include_artifacts: bool = False) -> dict[str, Any]:
    """Write a backup into ``dest`` (created; must not exist or be empty); returns the
    manifest."""
    if dest.exists() and any(dest.iterdir()):
        raise BackupError(f"{dest} is not empty; back up into a new directory")
    dest.mkdir(parents=True, exist_ok=True)
    store = rt.store
    if store.is_sqlite:
        database, snapshot = _sqlite_backup(store, dest / "database.sqlite")
    else:
        database, snapshot = _postgres_backup(store, dest / "database.dump")
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "created_at": time.time(),
        "dialect": store.engine.dialect.name,
        "revision": current_revision(store),
        "database": database,
        "storage_url": rt.storage.url,
        "tables": snapshot["tables"],
        "artifacts": snapshot["artifacts"],
        "uploads": snapshot["uploads"],
        "artifacts_included": include_artifacts,
    }
    if include_artifacts:
        _copy_artifacts(rt, manifest["artifacts"], dest / "artifacts")
        manifest["upload_files"] = _copy_uploads(rt, manifest["uploads"], dest / "artifacts")
    else:
        manifest["files_checked"] = check_files(rt, manifest)
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return manifest


def _sqlite_backup(store: Store, target: Path) -> tuple[str, dict[str, Any]]:
    source = sqlite3.connect(str(store.engine.url.database))
    copy = sqlite3.connect(str(target))
    try:
        source.backup(copy)  # online and consistent, even while workers write
    finally:
        copy.close()
        source.close()
    engine = create_engine(f"sqlite:///{target}")
    try:
        with engine.connect() as conn:
            return target.name, _snapshot(conn)
    finally:
        engine.dispose()


def _postgres_backup(store: Store, target: Path) -> tuple[str, dict[str, Any]]:
    uri, env = libpq_target(store)
    with store.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            snapshot_id = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            snapshot = _snapshot(conn)
            # pg_dump reads the exported snapshot while this transaction keeps it alive.
            proc = subprocess.run(
                ["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
                 f"--snapshot={snapshot_id}", f"--file={target}", f"--dbname={uri}"],
                env=env, capture_output=True, text=True, check=False,
            )  # fmt: skip
    if proc.returncode != 0:
        raise BackupError(f"pg_dump failed: {proc.stderr.strip()}")
    return target.name, snapshot


def _copy_artifacts(rt: Runtime, listed: list[dict[str, Any]], root: Path) -> None:
    for art in listed:
        target = root / art["key"]
        if not target.resolve().is_relative_to(root.resolve()):
            raise BackupError(f"artifact key {art['key']!r} escapes the backup directory")
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        try:
            with rt.storage.open(art["key"]) as src, open(target, "wb") as out:
                while block := src.read(1 << 20):
                    digest.update(block)
                    out.write(block)
        except FileNotFoundError:
            art["missing"] = True
            target.unlink(missing_ok=True)
            continue
        if digest.hexdigest() != art["sha256"]:
            art["corrupt"] = True


def _copy_uploads(rt: Runtime, listed: list[dict[str, Any]], root: Path) -> list[dict[str, Any]]:
    """Every stored file of each upload (a zipped glTF keeps its members beside the main
    file, under the upload's prefix); returns them as manifest entries."""
    files: list[dict[str, Any]] = []
    for up in listed:
        prefix = up["key"].rsplit("/", 1)[0] + "/"
        keys = sorted(set(rt.storage.keys(prefix)) | {up["key"]})
        for key in keys:
            entry = {"key": key, "size": 0, "sha256": "", "content_type": up["content_type"]}
            _copy_artifacts(rt, [entry], root)
            if not entry.get("missing"):
                entry["size"] = (root / key).stat().st_size
                entry["sha256"] = file_sha256(root / key)
                entry.pop("corrupt", None)  # no checksum was known beforehand
            files.append(entry)
    return files


def check_files(rt: Runtime, manifest: dict[str, Any]) -> dict[str, Any]:
    """For a backup without the files: does storage still hold every artifact and upload?"""
    listed = [*manifest["artifacts"], *manifest["uploads"]]
    missing = [f["key"] for f in listed if not rt.storage.exists(f["key"])]
    return {"storage_url": rt.storage.url, "checked": len(listed), "missing": missing}


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


# -- scheduled backups (the ``backup`` job kind) ---------------------------------------------
def scheduled_backup(
    dest_root: Path, *, keep: int, include_artifacts: bool = False, data_dir: Path | None = None
) -> tuple[Path, list[Path]]:
    """One backup into ``dest_root/<UTC time>``, then remove all but the newest ``keep``.
    Settings come from this process's environment (or settings file)."""
    from renderhouse.settings import load_settings

    rt = Runtime(load_settings(data_dir=data_dir))
    try:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        made = dest_root / stamp
        create_backup(rt, made, include_artifacts=include_artifacts)
    finally:
        rt.close()
    return made, prune_backups(dest_root, keep)


def prune_backups(dest_root: Path, keep: int) -> list[Path]:
    """Backups are the sub-directories holding a manifest; keep the newest ``keep``."""
    found = sorted(p for p in dest_root.iterdir() if (p / MANIFEST).is_file())
    old = found[:-keep] if keep > 0 else found
    for path in old:
        shutil.rmtree(path)
    return old


def backup_schedule(settings: Any) -> list[Any]:
    """The periodic job for ``settings.backup_cron`` (empty when backups are not scheduled);
    hand it to ``Maintenance(periodic=...)``."""
    if not settings.backup_cron:
        return []
    from renderhouse.queue.periodic import PeriodicJob

    dest = settings.backup_dir or settings.data_dir / "backups"
    return [
        PeriodicJob(
            name="backup",
            cron=settings.backup_cron,
            kind="backup",
            input={
                "dest": str(Path(dest).resolve()),
                "keep": settings.backup_keep,
                "include_artifacts": settings.backup_include_artifacts,
                "data_dir": str(Path(settings.data_dir).resolve()),
            },
        )
    ]
