"""Jobs over HTTP: submit, idempotency, validation, listing, ownership, cancel, retry."""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import assert_error

pytestmark = pytest.mark.anyio


async def test_submit_and_get(alice: httpx.AsyncClient) -> None:
    r = await alice.post("/v1/jobs", json={"kind": "noop", "input": {"message": "hi"}})
    assert r.status_code == 201, r.text
    job = r.json()
    assert job["state"] == "queued" and job["input"] == {"message": "hi"}
    assert job["cost"] == {"estimated": 0, "reserved": 0, "posted": None}
    assert r.headers["x-request-id"] and r.headers["ratelimit-limit"]
    got = await alice.get(f"/v1/jobs/{job['id']}")
    assert got.status_code == 200 and got.json()["id"] == job["id"]


async def test_idempotency(alice: httpx.AsyncClient) -> None:
    body = {"kind": "noop", "input": {"message": "once"}}
    headers = {"Idempotency-Key": "k-1"}
    first = await alice.post("/v1/jobs", json=body, headers=headers)
    again = await alice.post("/v1/jobs", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    other = await alice.post(
        "/v1/jobs", json={"kind": "noop", "input": {"message": "twice"}}, headers=headers
    )
    assert_error(other, 409, "idempotency_conflict")


async def test_idempotency_keys_are_per_user(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    body, headers = {"kind": "noop"}, {"Idempotency-Key": "shared"}
    a = await alice.post("/v1/jobs", json=body, headers=headers)
    b = await bob.post("/v1/jobs", json=body, headers=headers)
    assert (a.status_code, b.status_code) == (201, 201)
    assert a.json()["id"] != b.json()["id"]


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"kind": "nope"}, 422, "unknown_kind", None),
        ({"kind": "noop", "priority": -1}, 422, "invalid_request", "priority"),
        ({"kind": "noop", "priority": 101}, 422, "invalid_request", "priority"),
        ({"kind": "noop", "input": {"message": 5}}, 422, "invalid_input", None),
        ({"kind": "noop", "webhook_url": "ftp://x"}, 422, "invalid_request", "webhook_url"),
        ({"input": {}}, 422, "invalid_request", "kind"),
        ({"kind": "noop", "extra": 1}, 422, "invalid_request", "extra"),
    ],
)
async def test_bad_job_requests(
    alice: httpx.AsyncClient, body: dict, status: int, code: str, field: str | None
) -> None:
    err = assert_error(await alice.post("/v1/jobs", json=body), status, code)
    if field:
        assert err["details"]["errors"][0]["field"] == field
        assert field in err["message"]


async def test_generator_validation_names_the_field(alice: httpx.AsyncClient) -> None:
    r = await alice.post("/v1/jobs", json={"kind": "turntable", "input": {"frames": 0}})
    err = assert_error(r, 422, "invalid_input")
    fields = {e["field"] for e in err["details"]["errors"]}
    assert "model" in fields and "frames" in fields


async def test_server_paths_refused(alice: httpx.AsyncClient) -> None:
    r = await alice.post("/v1/jobs", json={"kind": "turntable", "input": {"model": "/etc/passwd"}})
    assert_error(r, 422, "invalid_input")


async def test_malformed_json(alice: httpx.AsyncClient) -> None:
    r = await alice.post(
        "/v1/jobs", content=b'{"kind": "noop",', headers={"Content-Type": "application/json"}
    )
    assert_error(r, 400, "malformed_json")


async def test_list_pagination_and_filters(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    ids = [(await alice.post("/v1/jobs", json={"kind": "noop"})).json()["id"] for _ in range(5)]
    await bob.post("/v1/jobs", json={"kind": "noop"})
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await alice.get("/v1/jobs", params=params)).json()
        seen += [j["id"] for j in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(ids, reverse=True)
    assert (await alice.get("/v1/jobs", params={"state": "running"})).json()["data"] == []
    assert len((await alice.get("/v1/jobs", params={"kind": "noop"})).json()["data"]) == 5
    assert_error(await alice.get("/v1/jobs", params={"limit": 201}), 422, "invalid_request")
    assert_error(await alice.get("/v1/jobs", params={"limit": 10**9}), 422, "invalid_request")
    assert_error(await alice.get("/v1/jobs", params={"state": "bogus"}), 422)
    assert_error(await alice.get("/v1/jobs", params={"cursor": "x'--"}), 422)


async def test_other_users_jobs_are_404(alice: httpx.AsyncClient, bob: httpx.AsyncClient) -> None:
    job = (await alice.post("/v1/jobs", json={"kind": "noop"})).json()
    jid = job["id"]
    for method, path in [
        ("GET", f"/v1/jobs/{jid}"),
        ("POST", f"/v1/jobs/{jid}/cancel"),
        ("POST", f"/v1/jobs/{jid}/retry"),
        ("GET", f"/v1/jobs/{jid}/artifacts"),
        ("GET", f"/v1/jobs/{jid}/events"),
    ]:
        assert_error(await bob.request(method, path), 404, "not_found")
    assert (await bob.get("/v1/jobs")).json()["data"] == []


async def test_cancel_and_retry(alice: httpx.AsyncClient) -> None:
    jid = (await alice.post("/v1/jobs", json={"kind": "noop"})).json()["id"]
    assert_error(await alice.post(f"/v1/jobs/{jid}/retry"), 409, "conflict")
    cancelled = await alice.post(f"/v1/jobs/{jid}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    retried = await alice.post(f"/v1/jobs/{jid}/retry")
    assert retried.status_code == 200 and retried.json()["state"] == "queued"


async def test_queue_full_is_503(alice: httpx.AsyncClient, runtime) -> None:
    runtime.queue.max_queue_size = 1
    assert (await alice.post("/v1/jobs", json={"kind": "noop"})).status_code == 201
    r = await alice.post("/v1/jobs", json={"kind": "noop"})
    assert_error(r, 503, "queue_full")
    assert r.headers["retry-after"]


async def test_before_enqueue_hook_runs_in_the_transaction(alice: httpx.AsyncClient, app) -> None:
    import dataclasses

    from renderhouse.api.state import EnqueueHook
    from renderhouse.errors import RenderhouseError

    class Broke(RenderhouseError):
        code, http_status = "insufficient_credits", 402

    calls = []

    def reserve(conn, user, nj):
        calls.append(user.id)
        if nj.input.get("message") == "poor":
            raise Broke("not enough credits")
        return dataclasses.replace(nj, cost_reserved=7)

    app.state.rh.before_enqueue.append(EnqueueHook(reserve))
    ok = await alice.post("/v1/jobs", json={"kind": "noop"})
    assert ok.json()["cost"]["reserved"] == 7
    assert_error(
        await alice.post("/v1/jobs", json={"kind": "noop", "input": {"message": "poor"}}),
        402,
        "insufficient_credits",
    )
    assert len((await alice.get("/v1/jobs")).json()["data"]) == 1
    assert len(calls) == 2


async def test_path_check_only_on_file_fields(alice: httpx.AsyncClient) -> None:
    r = await alice.post("/v1/jobs", json={"kind": "noop", "input": {"message": "/etc/passwd"}})
    assert r.status_code == 201
    for bad in ["../x.glb", "models/a.glb", "~/a.glb", "a.glb", "C:\\a.glb"]:
        r = await alice.post("/v1/jobs", json={"kind": "turntable", "input": {"model": bad}})
        assert_error(r, 422, "invalid_input")
    r = await alice.post(
        "/v1/jobs",
        json={"kind": "turntable", "input": {"model": "upload:up_x", "lighting": "/etc/x.hdr"}},
    )
    assert r.status_code in (404, 422)


async def test_paid_job_reserves_credits(alice: httpx.AsyncClient, app, runtime, users) -> None:
    from renderhouse import ledger

    with runtime.store.read() as conn:
        before = ledger.balance(conn, users.alice_id).to_dict()
    r = await alice.post("/v1/jobs", json={"kind": "turntable", "input": {"model": "upload:x"}})
    assert_error(r, 404, "not_found")  # refused before any reservation
    up = await alice.post(
        "/v1/uploads", files={"file": ("m.glb", _tiny_glb(), "application/octet-stream")}
    )
    job = await alice.post(
        "/v1/jobs", json={"kind": "turntable", "input": {"model": up.json()["ref"]}}
    )
    cost = job.json()["cost"]
    assert cost["estimated"] > 0 and cost["reserved"] == cost["estimated"]
    with runtime.store.read() as conn:
        after = ledger.balance(conn, users.alice_id).to_dict()
    assert after != before


def _tiny_glb() -> bytes:
    from tests.api.test_uploads import glb

    return glb()


async def test_no_credits_is_402(app, users) -> None:
    from tests.api.conftest import client_for

    async with client_for(app, users.admin) as admin:  # the admin was granted nothing
        up = await admin.post(
            "/v1/uploads", files={"file": ("m.glb", _tiny_glb(), "application/octet-stream")}
        )
        r = await admin.post(
            "/v1/jobs", json={"kind": "turntable", "input": {"model": up.json()["ref"]}}
        )
        assert_error(r, 402, "insufficient_credits")
        assert (await admin.get("/v1/jobs")).json()["data"] == []


@pytest.mark.parametrize("kind", ["webhook", "backup"])
async def test_internal_kinds_cannot_be_submitted(alice: httpx.AsyncClient, kind: str) -> None:
    """Webhook deliveries and backups are enqueued by Renderhouse itself: from a caller they
    are unknown kinds (no POST relay, no backup trigger), and the error does not list them."""
    r = await alice.post("/v1/jobs", json={"kind": kind, "input": {"url": "https://example.com/"}})
    error = assert_error(r, 422, "unknown_kind")
    assert kind not in error["details"]["known"] and "noop" in error["details"]["known"]
