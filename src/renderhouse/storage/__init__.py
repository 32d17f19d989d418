"""Artifact storage seam: ``base.Storage`` and its implementations, chosen by URL."""

from __future__ import annotations

from renderhouse.storage.base import Storage


def open_storage(url: str, secret: str = "") -> Storage:
    """``file:///abs/path`` → ``LocalStorage``; ``s3://bucket/prefix?endpoint_url=…&region=…``
    → ``S3Storage`` (credentials from the usual AWS environment variables)."""
    if url.startswith("file://"):
        from renderhouse.storage.local import LocalStorage

        return LocalStorage.from_url(url, secret)
    if url.startswith("s3://"):
        from renderhouse.storage.s3 import S3Storage

        return S3Storage.from_url(url)
    if url == "none:":  # a worker without storage (``storage/none.py``)
        from renderhouse.storage.none import NoStorage

        return NoStorage()
    from renderhouse.errors import SettingsError

    raise SettingsError(
        f"unsupported RENDERHOUSE_STORAGE_URL {url!r}: use file:///absolute/path or "
        "s3://bucket/prefix?endpoint_url=https://host&region=name"
    )
