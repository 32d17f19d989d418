"""No storage: for a worker whose kinds store nothing (``Worker(storage=None)``), so an
embedding application need not configure a bucket it never uses. Any use says so."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, NoReturn

from renderhouse.errors import NotConfigured

URL = "none:"


def _refuse(what: str) -> NoReturn:
    raise NotConfigured(
        f"this worker has no artifact storage, so a job cannot {what}; give the worker a "
        "storage (RENDERHOUSE_STORAGE_URL) or run this kind on a worker that has one"
    )


class NoStorage:
    url = URL

    def put_bytes(self, key: str, data: bytes, content_type: str) -> int:
        _refuse("store artifacts")

    def put_file(self, key: str, path: Path, content_type: str) -> int:
        _refuse("store artifacts")

    def put_stream(self, key: str, stream: BinaryIO, content_type: str) -> int:
        _refuse("store artifacts")

    def open(self, key: str) -> BinaryIO:
        _refuse("read artifacts or uploads")

    def exists(self, key: str) -> bool:
        return False

    def size(self, key: str) -> int:
        _refuse("read artifacts")

    def keys(self, prefix: str = "") -> Iterator[str]:
        return iter(())

    def delete(self, key: str) -> None:
        pass

    def sign_url(self, key: str, expires_in: int = 3600) -> str:
        _refuse("share artifacts")

    def check_writable(self) -> None:
        _refuse("store anything")
