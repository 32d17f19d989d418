"""Artifacts: signed URLs that expire, downloads with Range, no listing for other users."""

from __future__ import annotations

import hashlib
import time

import httpx
import pytest

from renderhouse.api.artifacts import signed_url
from tests.api.conftest import assert_error

pytestmark = pytest.mark.anyio
DATA = bytes(range(256)) * 40


def finish_with_artifact(runtime, job_id: str, name: str = "frames/000.png") -> None:
    q = runtime.queue
    (job,) = q.claim(["noop"], 1, "w")
    key = f"jobs/{job_id}/{name}"
    size = runtime.storage.put_bytes(key, DATA, "image/png")
    ref = {"name": name, "key": key, "content_type": "image/png", "size": size}
    q.add_artifact(job_id, job.attempt, {**ref, "sha256": hashlib.sha256(DATA).hexdigest()})
    q.complete(job_id, job.attempt, {})


async def test_list_and_download(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient, anon: httpx.AsyncClient, runtime
) -> None:
    jid = (await alice.post("/v1/jobs", json={"kind": "noop"})).json()["id"]
    finish_with_artifact(runtime, jid)
    (art,) = (await alice.get(f"/v1/jobs/{jid}/artifacts")).json()
    assert art["name"] == "frames/000.png" and art["size"] == len(DATA)
    full = await anon.get(art["url"])
    assert full.status_code == 200 and full.content == DATA
    assert full.headers["content-type"] == "image/png" and full.headers["accept-ranges"] == "bytes"
    part = await anon.get(art["url"], headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == DATA[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{len(DATA)}"
    tail = await anon.get(art["url"], headers={"Range": "bytes=-5"})
    assert tail.content == DATA[-5:]
    opened = await anon.get(art["url"], headers={"Range": "bytes=100-"})
    assert opened.content == DATA[100:]
    assert_error(
        await anon.get(art["url"], headers={"Range": f"bytes={len(DATA)}-"}),
        416,
        "range_not_satisfiable",
    )
    assert_error(await bob.get(f"/v1/jobs/{jid}/artifacts"), 404, "not_found")


async def test_signatures(
    alice: httpx.AsyncClient, anon: httpx.AsyncClient, runtime, settings
) -> None:
    jid = (await alice.post("/v1/jobs", json={"kind": "noop"})).json()["id"]
    finish_with_artifact(runtime, jid, "out.png")
    url = signed_url(settings.secret_key, jid, "out.png", 60)
    assert (await anon.get(url)).status_code == 200
    tampered = url.replace("out.png", "other.png")
    assert_error(await anon.get(tampered), 403, "invalid_signature")
    stale = signed_url(settings.secret_key, jid, "out.png", 60, now=time.time() - 120)
    assert_error(await anon.get(stale), 403, "expired")
    missing = signed_url(settings.secret_key, jid, "nope.png", 60)
    assert_error(await anon.get(missing), 404, "not_found")
    assert_error(await anon.get(f"/v1/artifacts/{jid}/out.png"), 422, "invalid_request")


async def test_share_serves_a_page_and_its_siblings(
    alice: httpx.AsyncClient, anon: httpx.AsyncClient, runtime, settings
) -> None:
    """An HTML artifact is listed under a share: a signed directory, so the page's relative
    links (a viewer's frames) are signed too; altered or expired shares open nothing."""
    from renderhouse.api.artifacts import share_url

    jid = (await alice.post("/v1/jobs", json={"kind": "noop"})).json()["id"]
    q = runtime.queue
    (job,) = q.claim(["noop"], 1, "w")
    for name, data, ctype in [
        ("viewer.html", b"<img src='frames/a.png'>", "text/html; charset=utf-8"),
        ("frames/a.png", DATA, "image/png"),
    ]:
        key = f"jobs/{jid}/{name}"
        size = runtime.storage.put_bytes(key, data, ctype)
        ref = {"name": name, "key": key, "content_type": ctype, "size": size}
        q.add_artifact(jid, job.attempt, {**ref, "sha256": hashlib.sha256(data).hexdigest()})
    q.complete(jid, job.attempt, {})
    listing = (await alice.get(f"/v1/jobs/{jid}/artifacts")).json()
    page = next(a["url"] for a in listing if a["name"] == "viewer.html")
    assert page.startswith(f"/v1/shares/{jid}/") and page.endswith("/viewer.html")
    served = await anon.get(page)
    assert (
        served.content.startswith(b"<img") and served.headers["x-content-type-options"] == "nosniff"
    )
    sibling = page.rsplit("/", 1)[0] + "/frames/a.png"  # what the browser resolves
    got = await anon.get(sibling, headers={"Range": "bytes=0-9"})
    assert got.status_code == 206 and got.content == DATA[:10]
    other = page.replace(jid, "0" * len(jid))
    assert_error(await anon.get(other), 403, "invalid_signature")
    expired = share_url(settings.secret_key, jid, "viewer.html", int(time.time()) - 1)
    assert_error(await anon.get(expired), 403, "expired")
    assert_error(await anon.get(page.replace("viewer.html", "nope.png")), 404, "not_found")
