"""Artifacts as files under one directory (the embedded default).

Downloads go through the API: ``sign_url`` returns a path on ``url_prefix`` carrying an
expiry and an HMAC-SHA256 of (key, expiry) under the settings secret, and the download
route calls ``verify`` before streaming the file, so a link cannot be altered or outlive
its expiry and no API key has to be put in a URL."""

from __future__ import annotations

import hashlib
import hmac
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote, unquote, urlparse

DEFAULT_URL_PREFIX = "/v1/files"


class LocalStorage:
    def __init__(self, root: Path, secret: str = "", url_prefix: str = DEFAULT_URL_PREFIX) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.url = self.root.as_uri()
        self.secret = secret
        self.url_prefix = url_prefix.rstrip("/")

    @classmethod
    def from_url(cls, url: str, secret: str = "") -> LocalStorage:
        return cls(Path(unquote(urlparse(url).path)), secret)

    def path(self, key: str) -> Path:
        target = (self.root / key).resolve()
        if not target.is_relative_to(self.root) or target == self.root:
            raise ValueError(f"storage key {key!r} escapes the storage root")
        return target

    def _atomic_write(self, key: str, write: Callable[[BinaryIO], object]) -> int:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                write(fh)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target.stat().st_size

    def put_bytes(self, key: str, data: bytes, content_type: str) -> int:
        return self._atomic_write(key, lambda fh: fh.write(data))

    def put_file(self, key: str, path: Path, content_type: str) -> int:
        with open(path, "rb") as src:
            return self.put_stream(key, src, content_type)

    def put_stream(self, key: str, stream: BinaryIO, content_type: str) -> int:
        return self._atomic_write(key, lambda fh: shutil.copyfileobj(stream, fh, 1 << 20))

    def open(self, key: str) -> BinaryIO:
        return open(self.path(key), "rb")

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def size(self, key: str) -> int:
        return self.path(key).stat().st_size

    def keys(self, prefix: str = "") -> Iterator[str]:
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                if name.startswith((".tmp-", ".write-probe")):
                    continue
                key = Path(dirpath, name).relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    yield key

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def check_writable(self) -> None:
        probe = self.root / f".write-probe-{os.getpid()}"
        probe.write_bytes(b"ok")
        probe.unlink()

    # -- signed URLs ----------------------------------------------------------------------
    def _signature(self, key: str, expires: int) -> str:
        if not self.secret:
            raise ValueError("signed URLs need the settings secret (RENDERHOUSE_SECRET_KEY)")
        msg = f"{key}\n{expires}".encode()
        return hmac.new(self.secret.encode(), msg, hashlib.sha256).hexdigest()

    def sign_url(self, key: str, expires_in: int = 3600) -> str:
        self.path(key)  # refuse keys that escape the root before handing out a link
        expires = int(time.time()) + int(expires_in)
        sig = self._signature(key, expires)
        return f"{self.url_prefix}/{quote(key)}?expires={expires}&sig={sig}"

    def verify(self, key: str, expires: int | str, sig: str, now: float | None = None) -> bool:
        """True if ``sig`` was made by ``sign_url`` for ``key`` and has not expired."""
        try:
            expires_at = int(expires)
        except (TypeError, ValueError):
            return False
        if expires_at < (time.time() if now is None else now):
            return False
        return hmac.compare_digest(self._signature(key, expires_at), sig)
