"""The storage contract every backend implements (``local.py``, ``s3.py``); the
conformance suite in ``tests/storage`` holds each of them to it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol


class Storage(Protocol):
    url: str

    def put_bytes(self, key: str, data: bytes, content_type: str) -> int: ...

    def put_file(self, key: str, path: Path, content_type: str) -> int: ...

    def put_stream(self, key: str, stream: BinaryIO, content_type: str) -> int:
        """Store everything ``stream`` yields without holding it in memory; returns the size."""

    def open(self, key: str) -> BinaryIO:
        """A readable stream of the object (``FileNotFoundError`` if there is none)."""

    def exists(self, key: str) -> bool: ...

    def size(self, key: str) -> int: ...

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Every stored key under ``prefix`` (backups and audits walk this)."""

    def delete(self, key: str) -> None: ...

    def sign_url(self, key: str, expires_in: int = 3600) -> str:
        """A URL that downloads ``key`` without an API key until it expires."""

    def check_writable(self) -> None:
        """Raise if the backend cannot store a file right now (readiness)."""
