"""The storage contract every backend implements."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO, Protocol


class Storage(Protocol):
    url: str

    def put_bytes(self, key: str, data: bytes, content_type: str) -> int: ...

    def put_file(self, key: str, path: Path, content_type: str) -> int: ...

    def open(self, key: str) -> BinaryIO: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...

    def check_writable(self) -> None:
        """Raise if the backend cannot store a file right now (readiness)."""
