"""Artifacts as files under one directory (the embedded default)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlparse


class LocalStorage:
    def __init__(self, root: Path, secret: str = "") -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.url = self.root.as_uri()
        self.secret = secret

    @classmethod
    def from_url(cls, url: str, secret: str = "") -> LocalStorage:
        return cls(Path(unquote(urlparse(url).path)), secret)

    def path(self, key: str) -> Path:
        target = (self.root / key).resolve()
        if not target.is_relative_to(self.root):
            raise ValueError(f"storage key {key!r} escapes the storage root")
        return target

    def _atomic_write(self, key: str, write: object) -> int:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                write(fh)  # type: ignore[operator]
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target.stat().st_size

    def put_bytes(self, key: str, data: bytes, content_type: str) -> int:
        return self._atomic_write(key, lambda fh: fh.write(data))

    def put_file(self, key: str, path: Path, content_type: str) -> int:
        def copy(fh: BinaryIO) -> None:
            with open(path, "rb") as src:
                shutil.copyfileobj(src, fh, 1 << 20)

        return self._atomic_write(key, copy)

    def open(self, key: str) -> BinaryIO:
        return open(self.path(key), "rb")

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def check_writable(self) -> None:
        probe = self.root / ".write-probe"
        probe.write_bytes(b"ok")
        probe.unlink()
