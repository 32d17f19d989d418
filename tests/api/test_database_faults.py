"""The API under database faults (issue 14): backends terminated in a loop mid-request give
503 ``store_unavailable`` with ``Retry-After``, never a 500, and the API recovers."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.pg_faults import terminating_backends

pytestmark = [pytest.mark.anyio, pytest.mark.parametrize("db_url", ["postgres"], indirect=True)]


async def test_backend_kills_answer_503_with_retry_after(
    alice: httpx.AsyncClient, db_url: str
) -> None:
    jid = (await alice.post("/v1/jobs", json={"kind": "noop"})).json()["id"]
    statuses: list[int] = []
    with terminating_backends(db_url, every=0.02) as killed:
        for i in range(60):
            calls = [
                alice.post("/v1/jobs", json={"kind": "noop", "input": {"message": str(i)}}),
                alice.get(f"/v1/jobs/{jid}"),
                alice.get("/v1/jobs"),
                alice.post(f"/v1/jobs/{jid}/cancel"),
                alice.get("/v1/credits"),
            ]
            for r in await asyncio.gather(*calls):
                statuses.append(r.status_code)
                assert r.status_code in (200, 201, 503), r.text
                if r.status_code == 503:
                    assert r.json()["error"]["code"] == "store_unavailable"
                    assert int(r.headers["retry-after"]) > 0
    assert killed[0] > 0
    assert 503 in statuses, "the loop should have cut some request's connection"
    for _ in range(3):  # the pool replaces what was cut; the API answers normally again
        after = await alice.get(f"/v1/jobs/{jid}")
        if after.status_code == 200:
            break
    assert after.status_code == 200
