"""The deployment's secret key (JWTs, signed artifact URLs, webhook signing secrets) when
none is configured: generated on first start, kept in the data directory, owner-only.

The documented default string (``settings.DEFAULT_SECRET``) is public, so it never signs
anything: a process without ``RENDERHOUSE_SECRET_KEY`` uses ``<data_dir>/secret_key``,
creating it if allowed. Rotation (``renderhouse secret rotate``) replaces the file; what the
old key signed stops verifying at once (docs/security.md).
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import stat
from pathlib import Path

from renderhouse.errors import SettingsError
from renderhouse.settings import DEFAULT_SECRET, Settings

log = logging.getLogger(__name__)

FILE_NAME = "secret_key"
KEY_BYTES = 48


def path_in(data_dir: Path) -> Path:
    return data_dir / FILE_NAME


def resolve(settings: Settings, *, create: bool = True) -> Settings:
    """``settings`` with a secret key that is not the public default: the configured one,
    else the data directory's (made now when ``create``; else SettingsError)."""
    if settings.secret_key != DEFAULT_SECRET:
        return settings
    return settings.model_copy(update={"secret_key": load(settings.data_dir, create=create)})


def load(data_dir: Path, *, create: bool = True) -> str:
    path = path_in(data_dir)
    try:
        return _read(path)
    except FileNotFoundError:
        if not create:
            raise SettingsError(
                f"no secret key: set RENDERHOUSE_SECRET_KEY (the same on every node), or run "
                f"`renderhouse serve` or `renderhouse secret rotate` once to create {path}"
            ) from None
    try:
        _write_new(path, exclusive=True)
        log.warning("generated a secret key in %s (owner-only); keep it private", path)
    except FileExistsError:
        pass  # another process made it first: use theirs
    return _read(path)


def rotate(data_dir: Path) -> Path:
    """Replace the stored key with a fresh one (atomically); returns the file."""
    path = path_in(data_dir)
    _write_new(path, exclusive=False)
    return path


def _read(path: Path) -> str:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("%s was readable by others (mode %o); made it owner-only", path, mode)
        path.chmod(0o600)
    key = path.read_text().strip()
    if len(key) < 32:
        raise SettingsError(f"{path} holds no usable key (under 32 characters); rotate it")
    return key


def _write_new(path: Path, *, exclusive: bool) -> None:
    """Write a fresh key to a private temporary file, then link (``exclusive``: fails if the
    key exists) or rename it into place, so no reader ever sees a partial key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{FILE_NAME}.{secrets.token_hex(6)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(KEY_BYTES) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        if exclusive:
            os.link(tmp, path)
        else:
            os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
