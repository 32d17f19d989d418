"""One suite, every storage backend: local directory and S3 (a real S3 protocol server)."""

from __future__ import annotations

import hashlib
import io
import time
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import httpx
import pytest

from renderhouse.errors import SettingsError
from renderhouse.storage import open_storage
from renderhouse.storage.base import Storage
from renderhouse.storage.local import LocalStorage
from renderhouse.storage.s3 import S3Storage


class Unseekable(io.RawIOBase):
    """A stream that can only be read forwards, like a request body or a socket."""

    def __init__(self, total: int, chunk: int = 64 * 1024) -> None:
        self.left, self.chunk, self.digest = total, chunk, hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        n = min(self.left, self.chunk if size is None or size < 0 else size)
        data = bytes((self.left + i) % 251 for i in range(n))
        self.left -= n
        self.digest.update(data)
        return data


def fetch_signed(storage: Storage, url: str) -> httpx.Response:
    """Download a signed URL the way a browser would reach it."""
    if isinstance(storage, LocalStorage):
        parsed = urlparse(url)
        key = unquote(parsed.path.removeprefix(storage.url_prefix + "/"))
        q = {k: v[0] for k, v in parse_qs(parsed.query).items()}
        if not storage.verify(key, q.get("expires", ""), q.get("sig", "")):
            return httpx.Response(403)
        with storage.open(key) as fh:
            return httpx.Response(200, content=fh.read())
    return httpx.get(url, timeout=10)


def test_bytes_round_trip(storage: Storage) -> None:
    size = storage.put_bytes("jobs/a/frame 0.png", b"\x89PNG-data", "image/png")
    assert size == 9
    assert storage.exists("jobs/a/frame 0.png")
    assert storage.size("jobs/a/frame 0.png") == 9
    with storage.open("jobs/a/frame 0.png") as fh:
        assert fh.read() == b"\x89PNG-data"


def test_open_seeks_for_ranges(storage: Storage) -> None:
    storage.put_bytes("jobs/r/video.mp4", bytes(range(200)), "video/mp4")
    with storage.open("jobs/r/video.mp4") as fh:
        fh.seek(150)
        assert fh.read(10) == bytes(range(150, 160))
        fh.seek(0)
        assert fh.read(3) == bytes([0, 1, 2])


def test_overwrite_replaces(storage: Storage) -> None:
    storage.put_bytes("k", b"one", "text/plain")
    storage.put_bytes("k", b"second", "text/plain")
    with storage.open("k") as fh:
        assert fh.read() == b"second"


def test_put_file(storage: Storage, tmp_path: Path) -> None:
    src = tmp_path / "viewer.html"
    src.write_text("<html>spin</html>")
    assert storage.put_file("jobs/b/viewer.html", src, "text/html") == src.stat().st_size
    with storage.open("jobs/b/viewer.html") as fh:
        assert fh.read() == b"<html>spin</html>"


def test_stream_large_without_seeking(storage: Storage) -> None:
    """12 MiB from a forward-only stream: multipart on S3, never held in memory whole."""
    total = 12 * 1024 * 1024
    src = Unseekable(total)
    assert storage.put_stream("jobs/c/video.mp4", src, "video/mp4") == total  # type: ignore[arg-type]
    got, n = hashlib.sha256(), 0
    with storage.open("jobs/c/video.mp4") as fh:
        while block := fh.read(1 << 20):
            got.update(block)
            n += len(block)
    assert n == total
    assert got.hexdigest() == src.digest.hexdigest()


def test_keys_by_prefix(storage: Storage) -> None:
    for key in ("jobs/1/a.png", "jobs/1/b.png", "jobs/2/a.png", "uploads/x.glb"):
        storage.put_bytes(key, b"x", "application/octet-stream")
    storage.check_writable()
    assert sorted(storage.keys("jobs/1/")) == ["jobs/1/a.png", "jobs/1/b.png"]
    assert sorted(storage.keys()) == [
        "jobs/1/a.png",
        "jobs/1/b.png",
        "jobs/2/a.png",
        "uploads/x.glb",
    ]


def test_delete_is_idempotent(storage: Storage) -> None:
    storage.put_bytes("gone.txt", b"x", "text/plain")
    storage.delete("gone.txt")
    storage.delete("gone.txt")
    assert not storage.exists("gone.txt")


def test_missing_object(storage: Storage) -> None:
    assert not storage.exists("nope.bin")
    with pytest.raises(FileNotFoundError):
        storage.open("nope.bin")
    with pytest.raises(FileNotFoundError):
        storage.size("nope.bin")


@pytest.mark.parametrize("key", ["../escape", "a/../../escape"])
def test_keys_cannot_escape(storage: Storage, key: str) -> None:
    with pytest.raises(ValueError):
        storage.put_bytes(key, b"x", "text/plain")


def test_check_writable(storage: Storage) -> None:
    storage.check_writable()
    assert list(storage.keys()) == []


def test_signed_url_downloads(storage: Storage) -> None:
    storage.put_bytes("jobs/d/sheet.webp", b"sprites", "image/webp")
    url = storage.sign_url("jobs/d/sheet.webp", expires_in=60)
    resp = fetch_signed(storage, url)
    assert resp.status_code == 200
    assert resp.content == b"sprites"


def test_signed_url_expires(storage: Storage) -> None:
    storage.put_bytes("jobs/e/x.png", b"x", "image/png")
    url = storage.sign_url("jobs/e/x.png", expires_in=1)
    if isinstance(storage, S3Storage):
        # The service enforces a presigned URL's expiry (moto's server does not check it), so
        # what we own is that the URL is signed with SigV4 for exactly that lifetime.
        q = parse_qs(urlparse(url).query)
        assert q["X-Amz-Expires"] == ["1"]
        assert q["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
        assert "host" in q["X-Amz-SignedHeaders"][0]
        return
    time.sleep(2.1)
    assert fetch_signed(storage, url).status_code == 403


def test_local_signed_url_cannot_be_altered(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path, "secret")
    storage.put_bytes("jobs/f/x.png", b"x", "image/png")
    storage.put_bytes("jobs/f/y.png", b"y", "image/png")
    url = storage.sign_url("jobs/f/x.png", expires_in=60)
    assert fetch_signed(storage, url.replace("x.png", "y.png")).status_code == 403
    later = url.replace("expires=", "expires=9")
    assert fetch_signed(storage, later).status_code == 403


def test_local_signatures_need_the_secret(tmp_path: Path) -> None:
    a = LocalStorage(tmp_path, "secret-a")
    b = LocalStorage(tmp_path, "secret-b")
    a.put_bytes("k.txt", b"x", "text/plain")
    q = parse_qs(urlparse(a.sign_url("k.txt")).query)
    assert a.verify("k.txt", q["expires"][0], q["sig"][0])
    assert not b.verify("k.txt", q["expires"][0], q["sig"][0])
    assert not a.verify("k.txt", "not-a-number", q["sig"][0])


def test_s3_keeps_content_type(s3_url: str) -> None:
    s3 = open_storage(s3_url)
    assert isinstance(s3, S3Storage)
    s3.put_bytes("a.webp", b"x", "image/webp")
    s3.put_stream("b.mp4", io.BytesIO(b"y"), "video/mp4")
    assert s3.content_type("a.webp") == "image/webp"
    assert s3.content_type("b.mp4") == "video/mp4"
    assert s3.url.startswith("s3://") and "testing" not in s3.url


def test_open_storage_refuses_unknown_schemes() -> None:
    with pytest.raises(SettingsError, match="s3://bucket"):
        open_storage("ftp://example/bucket")
