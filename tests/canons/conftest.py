"""Fixtures for stored canons: the API on SQLite and PostgreSQL (``tests/api/conftest.py``)
and the example canon of ``examples/render`` with its logo inlined."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.conftest import (  # noqa: F401  (the API fixtures)
    alice,
    anyio_backend,
    app,
    bob,
    runtime,
    settings,
    users,
)
from tests.render.conftest import canon_dict


def small_canon(name: str = "acme") -> dict[str, Any]:
    canon = canon_dict()
    canon["name"] = name
    canon["outputs"] = [{"width": 512, "height": 512, "format": "png"}]
    return canon


async def store_canon(client: httpx.AsyncClient, canon: dict[str, Any] | None = None) -> dict:
    r = await client.post("/v1/canons", json=canon or small_canon())
    assert r.status_code == 201, r.text
    return dict(r.json())


async def upload(client: httpx.AsyncClient, name: str, data: bytes) -> httpx.Response:
    return await client.post(
        "/v1/uploads", files={"file": (name, data, "application/octet-stream")}
    )
