"""Artifacts in any S3-compatible service (AWS S3, MinIO, Ceph, R2...) through boto3.

``RENDERHOUSE_STORAGE_URL=s3://bucket/prefix?endpoint_url=http://minio:9000&region=eu-west-1``;
credentials come from the usual AWS sources (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``,
a profile, an instance role), never from the URL, so the URL is safe to log. Objects are
streamed both ways (multipart upload for large files), and downloads are presigned URLs that
the service itself verifies and expires."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, cast
from urllib.parse import parse_qs, urlparse

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

PROBE_KEY = ".write-probe"


class _Counting(io.RawIOBase):
    """Counts what boto3 reads from a stream, so ``put_stream`` knows the size without a
    second request or a seek (the stream may be a socket)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream, self.count = stream, 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        chunk = self._stream.read(size)
        self.count += len(chunk)
        return chunk


class _ObjectReader(io.RawIOBase):
    """A streaming object body that can also ``seek``: a seek re-opens the stream with a
    ranged GET, so HTTP Range requests cost no download of the skipped bytes."""

    def __init__(self, client: Any, bucket: str, key: str, body: Any) -> None:
        self._client, self._bucket, self._key, self._body, self._pos = client, bucket, key, body, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def read(self, size: int = -1) -> bytes:
        chunk: bytes = self._body.read(None if size is None or size < 0 else size)
        self._pos += len(chunk)
        return chunk

    def readinto(self, buffer: Any) -> int:
        chunk = self.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence != io.SEEK_SET:
            raise io.UnsupportedOperation("S3 objects seek from the start only")
        if offset != self._pos:
            self._body.close()
            got = self._client.get_object(
                Bucket=self._bucket, Key=self._key, Range=f"bytes={offset}-"
            )
            self._body, self._pos = got["Body"], offset
        return self._pos

    def close(self) -> None:
        self._body.close()
        super().close()


class S3Storage:
    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        client: Any = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        query = "&".join(
            f"{k}={v}" for k, v in (("endpoint_url", endpoint_url), ("region", region)) if v
        )
        self.url = f"s3://{bucket}/{self.prefix}" + (f"?{query}" if query else "")
        self.client = client or boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            # Path-style addressing works on every S3-compatible server, virtual hosts don't.
            config=Config(
                s3={"addressing_style": "path" if endpoint_url else "auto"},
                retries={"max_attempts": 5, "mode": "standard"},
                signature_version="s3v4",
            ),
        )

    @classmethod
    def from_url(cls, url: str) -> S3Storage:
        parsed = urlparse(url)
        if not parsed.netloc:
            raise ValueError(f"storage URL {url!r} names no bucket: use s3://bucket/prefix")
        query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        return cls(
            parsed.netloc,
            parsed.path,
            endpoint_url=query.get("endpoint_url"),
            region=query.get("region"),
        )

    def _key(self, key: str) -> str:
        if not key or key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"storage key {key!r} is not a relative path")
        return self.prefix + key

    def put_bytes(self, key: str, data: bytes, content_type: str) -> int:
        self.client.put_object(
            Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=content_type
        )
        return len(data)

    def put_file(self, key: str, path: Path, content_type: str) -> int:
        self.client.upload_file(
            str(path), self.bucket, self._key(key), ExtraArgs={"ContentType": content_type}
        )
        return Path(path).stat().st_size

    def put_stream(self, key: str, stream: BinaryIO, content_type: str) -> int:
        counting = _Counting(stream)
        self.client.upload_fileobj(
            counting, self.bucket, self._key(key), ExtraArgs={"ContentType": content_type}
        )
        return counting.count

    def open(self, key: str) -> BinaryIO:
        try:
            obj = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if _missing(exc):
                raise FileNotFoundError(f"no stored object {key!r}") from exc
            raise
        return cast(BinaryIO, _ObjectReader(self.client, self.bucket, self._key(key), obj["Body"]))

    def _head(self, key: str) -> dict[str, Any] | None:
        try:
            return cast(
                dict[str, Any], self.client.head_object(Bucket=self.bucket, Key=self._key(key))
            )
        except ClientError as exc:
            if _missing(exc):
                return None
            raise

    def exists(self, key: str) -> bool:
        return self._head(key) is not None

    def size(self, key: str) -> int:
        head = self._head(key)
        if head is None:
            raise FileNotFoundError(f"no stored object {key!r}")
        return int(head["ContentLength"])

    def content_type(self, key: str) -> str | None:
        head = self._head(key)
        return None if head is None else head.get("ContentType")

    def keys(self, prefix: str = "") -> Iterator[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix + prefix
        )
        for page in pages:
            for obj in page.get("Contents", []):
                key = obj["Key"][len(self.prefix) :]
                if key != PROBE_KEY:
                    yield key

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def sign_url(self, key: str, expires_in: int = 3600) -> str:
        return cast(
            str,
            self.client.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.bucket, "Key": self._key(key)},
                ExpiresIn=int(expires_in),
            ),
        )

    def check_writable(self) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self.prefix + PROBE_KEY, Body=b"ok")
        self.client.delete_object(Bucket=self.bucket, Key=self.prefix + PROBE_KEY)


def _missing(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound")
