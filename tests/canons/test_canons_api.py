"""``/v1/canons`` on SQLite and PostgreSQL: stored canons validated by the render
generator's canon model, versioned by PUT, owner-scoped, and named in jobs as
``canon:<id>[@<version>]`` (the job row holds the content and the exact version)."""

from __future__ import annotations

import base64
import re
from typing import Any

import httpx
import pytest

from tests.api.conftest import assert_error
from tests.canons.conftest import small_canon, store_canon, upload
from tests.render.conftest import MODEL

pytestmark = pytest.mark.anyio
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


async def test_create_read_list_replace_delete(alice: httpx.AsyncClient) -> None:
    made = await store_canon(alice)
    assert re.fullmatch(r"cn_[0-9a-f]{24}", made["id"])
    assert made["ref"] == f"canon:{made['id']}" and made["version"] == 1
    assert made["source"] == f"canon:{made['id']}@1" and made["name"] == "acme"
    assert RFC3339.match(made["created_at"]) and RFC3339.match(made["updated_at"])
    assert made["canon"]["palette"][0]["hex"] == small_canon()["palette"][0]["hex"].lower()
    assert "source" not in made["canon"]
    got = (await alice.get(f"/v1/canons/{made['id']}")).json()
    assert got == made

    changed = small_canon("acme v2")
    changed["palette"][0]["hex"] = "#123456"
    r = await alice.put(f"/v1/canons/{made['id']}", json=changed)
    assert r.status_code == 200, r.text
    v2 = r.json()
    assert (v2["version"], v2["name"], v2["canon"]["palette"][0]["hex"]) == (
        2,
        "acme v2",
        "#123456",
    )
    assert v2["sha256"] != made["sha256"] and v2["created_at"] == made["created_at"]
    old = (await alice.get(f"/v1/canons/{made['id']}", params={"version": 1})).json()
    assert old["version"] == 1 and old["canon"] == made["canon"]
    assert_error(await alice.get(f"/v1/canons/{made['id']}", params={"version": 3}), 404)

    other = await store_canon(alice, small_canon("second"))
    page = (await alice.get("/v1/canons", params={"limit": 1})).json()
    assert page["total"] == 2 and page["next_offset"] == 1
    assert [c["id"] for c in page["data"]] == [other["id"]] and "canon" not in page["data"][0]
    rest = (await alice.get("/v1/canons", params={"offset": 1})).json()
    assert [c["id"] for c in rest["data"]] == [made["id"]] and rest["next_offset"] is None
    assert rest["data"][0]["version"] == 2

    r = await alice.delete(f"/v1/canons/{made['id']}")
    assert r.status_code == 204
    assert_error(await alice.get(f"/v1/canons/{made['id']}"), 404)
    assert_error(await alice.get(f"/v1/canons/{made['id']}", params={"version": 1}), 404)
    assert_error(await alice.delete(f"/v1/canons/{made['id']}"), 404)
    assert (await alice.get("/v1/canons")).json()["total"] == 1


async def test_other_users_canons_are_unknown(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    made = await store_canon(alice)
    cid = made["id"]
    assert_error(await bob.get(f"/v1/canons/{cid}"), 404)
    assert_error(await bob.put(f"/v1/canons/{cid}", json=small_canon()), 404)
    assert_error(await bob.delete(f"/v1/canons/{cid}"), 404)
    assert (await bob.get("/v1/canons")).json() == {"data": [], "total": 0, "next_offset": None}
    model = (await upload(bob, "m.glb", MODEL.read_bytes())).json()["ref"]
    r = await bob.post(
        "/v1/jobs",
        json={"kind": "render", "input": {"brief": "b", "model": model, "canon": made["ref"]}},
    )
    assert_error(r, 404)
    assert (await alice.get(f"/v1/canons/{cid}")).json()["version"] == 1  # untouched


def _with(change: Any) -> dict[str, Any]:
    canon = small_canon()
    change(canon)
    return canon


@pytest.mark.parametrize(
    ("canon", "code"),
    [
        (_with(lambda c: c["palette"][0].update(hex="crimson")), "invalid_colour"),
        (_with(lambda c: c["logo"].update(image="/etc/passwd")), "invalid_logo"),
        (
            _with(
                lambda c: c["logo"].update(
                    image="data:image/png;base64," + base64.b64encode(b"%PDF-1.7").decode()
                )
            ),
            "invalid_logo",
        ),
        (_with(lambda c: c["framing"].update(fill_min=0.9, fill_max=0.2)), "invalid_framing"),
        (_with(lambda c: c.update(background={"kind": "gradient"})), "invalid_background"),
        (_with(lambda c: c.pop("palette")), "invalid_canon"),
        (_with(lambda c: c.update(unknown=1)), "invalid_canon"),
    ],
)
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # validation: one store is enough
async def test_invalid_canons_are_refused_with_their_code(
    alice: httpx.AsyncClient, canon: dict[str, Any], code: str
) -> None:
    err = assert_error(await alice.post("/v1/canons", json=canon), 422, code)
    assert err["message"]
    made = await store_canon(alice)
    assert_error(await alice.put(f"/v1/canons/{made['id']}", json=canon), 422, code)
    assert (await alice.get(f"/v1/canons/{made['id']}")).json()["version"] == 1


async def test_bodies_that_are_not_canons(alice: httpx.AsyncClient) -> None:
    assert_error(await alice.post("/v1/canons", json=[1, 2]), 422)
    bad = await alice.post(
        "/v1/canons", content=b"{no", headers={"content-type": "application/json"}
    )
    assert_error(bad, 400, "malformed_json")
    assert_error(await alice.get("/v1/canons/not-an-id"), 422)


async def test_render_jobs_name_a_stored_canon_and_record_its_version(
    alice: httpx.AsyncClient, runtime: Any
) -> None:
    made = await store_canon(alice)
    model = (await upload(alice, "m.glb", MODEL.read_bytes())).json()["ref"]

    async def submit(canon: Any) -> httpx.Response:
        body = {"kind": "render", "input": {"brief": "calm", "model": model, "canon": canon}}
        return await alice.post("/v1/jobs", json=body)

    r = await submit(made["ref"])
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["input"]["canon"]["source"] == f"{made['ref']}@1"
    assert first["input"]["canon"]["palette"] == made["canon"]["palette"]
    changed = small_canon()
    changed["palette"][0]["hex"] = "#123456"
    await alice.put(f"/v1/canons/{made['id']}", json=changed)
    second = (await submit(made["ref"])).json()
    assert second["input"]["canon"]["source"] == f"{made['ref']}@2"
    assert second["input"]["canon"]["palette"][0]["hex"] == "#123456"
    pinned = (await submit(f"{made['ref']}@1")).json()
    assert pinned["input"]["canon"]["source"] == f"{made['ref']}@1"
    assert pinned["input"]["canon"]["palette"][0]["hex"] == made["canon"]["palette"][0]["hex"]
    # the queued job row keeps what it was given, whatever happens to the canon later
    await alice.delete(f"/v1/canons/{made['id']}")
    row = runtime.queue.get(first["id"])
    assert row.input["canon"]["source"] == f"{made['ref']}@1"
    assert_error(await submit(made["ref"]), 404)
    assert_error(await submit("canon:somebody-else"), 422, "bad_reference")
    forged = small_canon()
    forged["source"] = f"{made['ref']}@7"
    inline = (await submit(forged)).json()
    assert inline["input"]["canon"]["source"] is None  # only the platform names versions
