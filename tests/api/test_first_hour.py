"""Issue 19, item 4: what a new user meets over HTTP. ``unknown_kind`` names only kinds the
API accepts; ``GET /v1/kinds`` lists them with their input schemas; every time in a response
is an RFC 3339 string; an empty upload says it is empty; no response shows a server path."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import assert_error, client_for

pytestmark = pytest.mark.anyio
GLB = (Path(__file__).parents[1] / "assets" / "BoomBox.glb").read_bytes()
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def _is_time(value: object) -> bool:
    if not isinstance(value, str) or not RFC3339.match(value):
        return False
    return datetime.fromisoformat(value.replace("Z", "+00:00")).year >= 2020


async def test_unknown_kind_lists_only_public_kinds(alice: httpx.AsyncClient) -> None:
    err = assert_error(await alice.post("/v1/jobs", json={"kind": "nope"}), 422, "unknown_kind")
    assert "noop" in err["details"]["known"] and "turntable" in err["details"]["known"]
    assert not {"backup", "webhook"} & set(err["details"]["known"]), err
    assert "backup" not in err["message"] and "webhook" not in err["message"]
    err = assert_error(await alice.post("/v1/jobs", json={"kind": "backup"}), 422, "unknown_kind")
    assert "backup" not in err["details"]["known"]


async def test_kinds_lists_input_schemas(alice: httpx.AsyncClient, anon: httpx.AsyncClient) -> None:
    body = (await alice.get("/v1/kinds")).json()
    kinds = {k["kind"]: k for k in body["data"]}
    assert "noop" in kinds and "turntable" in kinds and "backup" not in kinds
    turntable = kinds["turntable"]["input_schema"]
    assert turntable["type"] == "object" and "frames" in turntable["properties"]
    assert "x-renderhouse-file" in str(turntable["properties"]["model"])  # an upload field
    assert_error(await anon.get("/v1/kinds"), 401)
    spec = (await anon.get("/openapi.json")).json()
    assert "/v1/kinds" in spec["paths"]
    created = spec["components"]["schemas"]["JobOut"]["properties"]["created_at"]
    assert created["type"] == "string" and created["format"] == "date-time"


async def test_times_are_rfc3339(alice: httpx.AsyncClient, runtime, app, users) -> None:
    up = await alice.post("/v1/uploads", files={"file": ("m.glb", GLB, "model/gltf-binary")})
    assert up.status_code == 201, up.text
    assert _is_time(up.json()["created_at"])
    job = (await alice.post("/v1/jobs", json={"kind": "noop"})).json()
    assert _is_time(job["created_at"]) and _is_time(job["updated_at"])
    assert job["started_at"] is None and job["finished_at"] is None
    got = (await alice.get(f"/v1/jobs/{job['id']}")).json()
    assert got["created_at"] == job["created_at"]
    page = (await alice.get("/v1/jobs")).json()
    assert all(_is_time(j["created_at"]) for j in page["data"])
    entries = (await alice.get("/v1/credits/ledger")).json()["data"]
    assert entries and all(_is_time(e["created_at"]) for e in entries)
    q = runtime.queue
    (claimed,) = q.claim(["noop"], 1, "w")
    q.complete(job["id"], claimed.attempt, {})
    async with alice.stream("GET", f"/v1/jobs/{job['id']}/events") as resp:
        text = "".join([chunk async for chunk in resp.aiter_text()])
    stamps = re.findall(r'"ts":"([^"]+)"', text)
    assert stamps and all(_is_time(t) for t in stamps), text
    async with client_for(app, users.admin) as admin:
        keys = (await admin.get("/v1/admin/keys")).json()
    assert keys and all(_is_time(k["created_at"]) for k in keys)
    async with client_for(app, users.admin) as admin:
        assert _is_time((await admin.get("/v1/system/metrics")).json()["time"])
    assert _is_time((await alice.get("/v1/system/metrics")).json()["time"])


async def test_empty_upload_says_so(alice: httpx.AsyncClient) -> None:
    r = await alice.post("/v1/uploads", files={"file": ("m.glb", b"", "model/gltf-binary")})
    err = assert_error(r, 422, "empty_file")
    assert "empty" in err["message"]


async def test_no_server_path_in_responses(alice: httpx.AsyncClient, settings) -> None:
    """The data directory's absolute path appears in no answer about an upload or a job."""
    root = str(Path(settings.data_dir).resolve())
    up = await alice.post("/v1/uploads", files={"file": ("m.glb", GLB, "model/gltf-binary")})
    ref = up.json()["ref"]
    job = await alice.post("/v1/jobs", json={"kind": "turntable", "input": {"model": ref}})
    assert job.status_code == 201, job.text
    jid = job.json()["id"]
    texts = [up.text, job.text]
    for path in (f"/v1/jobs/{jid}", "/v1/jobs", f"/v1/jobs/{jid}/artifacts", "/v1/uploads"):
        texts.append((await alice.get(path)).text)
    bad = await alice.post("/v1/jobs", json={"kind": "turntable", "input": {"model": root}})
    texts.append(bad.text)
    for text in texts:
        assert root not in text and "/artifacts/uploads/" not in text, text
