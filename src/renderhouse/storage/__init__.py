"""Artifact storage seam: ``base.Storage`` and its implementations, chosen by URL."""

from __future__ import annotations

from renderhouse.storage.base import Storage


def open_storage(url: str, secret: str = "") -> Storage:
    if url.startswith("file://"):
        from renderhouse.storage.local import LocalStorage

        return LocalStorage.from_url(url, secret)
    from renderhouse.errors import SettingsError

    raise SettingsError(
        f"unsupported RENDERHOUSE_STORAGE_URL {url!r}: use file:///absolute/path "
        "(S3-compatible storage is not available in this version)"
    )
