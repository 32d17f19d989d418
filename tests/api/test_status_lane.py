"""The status lane (``api/status_lane.py``): ``GET /v1/jobs/{id}`` answered from the event
loop on PostgreSQL once the caller's API key is cached, with the route's responses, errors,
headers and rate-limit accounting; everything else falls through to the route.

Which of the two served a request is observed, not mocked: the lane's reads go through the
app's ``AsyncJobReader``, whose statement count moves; the route reads through the store in
a worker thread and leaves it alone."""

from __future__ import annotations

import asyncio

import httpx
import psycopg
import pytest
from fastapi import FastAPI

from renderhouse.api.fastpath.async_reads import AsyncJobReader
from renderhouse.queue.enqueue import NewJob
from renderhouse.queue.jobs import Job
from renderhouse.runtime import Runtime
from renderhouse.settings import Settings
from tests.api.conftest import Users, app_with, assert_error, client_for
from tests.api.test_submit_lane import _sample

pytestmark = pytest.mark.anyio
on_postgres = pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
ROUTE = "/v1/jobs/{job_id}"


def reader_of(app: FastAPI) -> AsyncJobReader:
    reader = app.state.rh.job_reader
    assert reader is not None
    return reader


def job_of(rt: Runtime, owner: str, message: str = "hi") -> Job:
    job, _ = rt.queue.enqueue(NewJob(kind="noop", input={"message": message}, owner=owner))
    return job


async def gets(client: httpx.AsyncClient, status: int) -> float:
    return await _sample(
        client,
        "renderhouse_http_requests",
        {"method": "GET", "route": ROUTE, "status": str(status)},
    )


@on_postgres
async def test_polls_of_a_cached_key_take_the_lane_with_the_routes_answer(
    app: FastAPI, alice: httpx.AsyncClient, runtime: Runtime, users: Users
) -> None:
    reader = reader_of(app)
    job = job_of(runtime, users.alice_id)
    via_route = await alice.get(f"/v1/jobs/{job.id}")  # the key is not cached yet
    assert reader.reads == 0
    before = await gets(alice, 200)
    via_lane = await alice.get(f"/v1/jobs/{job.id}", headers={"X-Request-ID": "poll-1"})
    assert reader.reads == 1
    assert (via_route.status_code, via_lane.status_code) == (200, 200)
    assert via_lane.json() == via_route.json()
    assert via_lane.json()["id"] == job.id and via_lane.json()["state"] == "queued"
    assert via_lane.headers["content-type"] == via_route.headers["content-type"]
    assert via_lane.headers["x-request-id"] == "poll-1"
    remaining = [int(r.headers["ratelimit-remaining"]) for r in (via_route, via_lane)]
    assert remaining[1] == remaining[0] - 1
    # Counted under the route's own template.
    assert await gets(alice, 200) - before == 1

    # A change is seen at once: each poll reads afresh.
    runtime.queue.cancel(job.id, owner=users.alice_id)
    again = await alice.get(f"/v1/jobs/{job.id}")
    assert again.json()["state"] == "cancelled" and reader.reads == 2
    # X-API-Key instead of a bearer token: the same cached caller.
    async with client_for(app) as plain:
        r = await plain.get(f"/v1/jobs/{job.id}", headers={"X-API-Key": users.alice})
    assert r.status_code == 200 and r.json() == again.json() and reader.reads == 3


@on_postgres
async def test_another_users_job_and_unknown_ids_are_the_routes_404(
    app: FastAPI, alice: httpx.AsyncClient, runtime: Runtime, users: Users
) -> None:
    reader = reader_of(app)
    bobs = job_of(runtime, users.bob_id)
    by_route = await alice.get(f"/v1/jobs/{bobs.id}")  # uncached key: the route answers
    assert reader.reads == 0
    before = await gets(alice, 404)
    by_lane = await alice.get(f"/v1/jobs/{bobs.id}")
    unknown = await alice.get("/v1/jobs/j_no-such-job")
    assert reader.reads == 2
    assert assert_error(by_lane, 404, "not_found") == assert_error(by_route, 404, "not_found")
    err = assert_error(unknown, 404, "not_found")
    assert err["details"] == {"job_id": "j_no-such-job"}
    assert await gets(alice, 404) - before == 2
    # Bob still sees his job, through the lane too.
    async with client_for(app, users.bob) as bob:
        await bob.get("/v1/jobs")  # caches bob's key
        r = await bob.get(f"/v1/jobs/{bobs.id}")
    assert r.status_code == 200 and reader.reads == 3


@on_postgres
async def test_other_paths_and_methods_pass_through(
    app: FastAPI, alice: httpx.AsyncClient, runtime: Runtime, users: Users
) -> None:
    reader = reader_of(app)
    job = job_of(runtime, users.alice_id)
    await alice.get("/v1/jobs")  # caches the key
    assert (await alice.get(f"/v1/jobs/{job.id}/artifacts")).status_code == 200
    assert (await alice.get("/v1/jobs", params={"kind": "noop"})).status_code == 200
    assert (await alice.post(f"/v1/jobs/{job.id}/cancel")).status_code == 200
    assert (await alice.get("/v1/jobs/")).status_code in (307, 404)  # the router's own answer
    assert reader.reads == 0


@on_postgres
async def test_odd_ids_take_the_route_and_never_fail_other_polls(
    app: FastAPI, alice: httpx.AsyncClient, runtime: Runtime, users: Users
) -> None:
    reader = reader_of(app)
    job = job_of(runtime, users.alice_id)
    await alice.get("/v1/jobs")  # caches the key
    odd = ["ab%00cd", "j%20nope", "x" * 129, "%C3%A9t%C3%A9"]
    paths = [f"/v1/jobs/{job.id}", *(f"/v1/jobs/{o}" for o in odd), f"/v1/jobs/{job.id}"]
    answers = await asyncio.gather(*(alice.get(p) for p in paths))
    assert answers[0].status_code == answers[-1].status_code == 200
    # The route's own answers: a NUL byte cannot be a PostgreSQL text value (422); the rest
    # are merely unknown (404). Never a 5xx.
    err = assert_error(answers[1], 422, "invalid_text")
    assert "NUL" in err["message"]
    for r in answers[2:-1]:
        assert_error(r, 404, "not_found")
    assert 1 <= reader.reads <= 2  # only the real id was read by the lane


@on_postgres
async def test_rate_limit_counted_once_and_a_refused_poll_reads_nothing(
    settings: Settings, users: Users
) -> None:
    async with app_with(settings, rate_limit="3/minute") as (rt, app):
        job = job_of(rt, users.alice_id)
        reader = reader_of(app)
        async with client_for(app, users.alice) as alice:
            answers = [await alice.get(f"/v1/jobs/{job.id}") for _ in range(4)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert [r.headers["ratelimit-remaining"] for r in answers[:3]] == ["2", "1", "0"]
    refused = answers[3]
    assert_error(refused, 429, "rate_limited")
    assert int(refused.headers["retry-after"]) >= 1
    assert reader.reads == 2  # the route answered the first; the refused one read nothing


@on_postgres
async def test_concurrent_polls_share_reads(
    app: FastAPI, alice: httpx.AsyncClient, runtime: Runtime, users: Users
) -> None:
    reader = reader_of(app)
    mine = [job_of(runtime, users.alice_id, f"m{i}") for i in range(10)]
    theirs = job_of(runtime, users.bob_id)
    await alice.get("/v1/jobs")  # caches the key
    ids = [job.id for job in mine] * 10 + [theirs.id, "j_missing"]
    answers = await asyncio.gather(*(alice.get(f"/v1/jobs/{job_id}") for job_id in ids))
    for job_id, r in zip(ids, answers, strict=True):
        if job_id in (theirs.id, "j_missing"):
            assert_error(r, 404, "not_found")
        else:
            assert r.status_code == 200 and r.json()["id"] == job_id, r.text
    # Polls that arrived together were read together (one read per id would be 12).
    assert 1 <= reader.reads < len(set(ids)), reader.reads


@on_postgres
async def test_a_dead_connection_is_replaced_without_an_error(
    app: FastAPI, alice: httpx.AsyncClient, runtime: Runtime, users: Users
) -> None:
    reader = reader_of(app)
    job = job_of(runtime, users.alice_id)
    await alice.get("/v1/jobs")  # caches the key
    assert (await alice.get(f"/v1/jobs/{job.id}")).status_code == 200
    assert reader.connection.current is not None
    pid = reader.connection.current.info.backend_pid
    with psycopg.connect(runtime.store.libpq_url, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", (pid,))
    r = await alice.get(f"/v1/jobs/{job.id}")
    assert r.status_code == 200 and r.json()["id"] == job.id
    now = reader.connection.current
    assert now is not None and now.info.backend_pid != pid
    assert reader.reads == 2


@on_postgres
async def test_an_unreachable_database_is_a_503_then_recovers(
    app: FastAPI, alice: httpx.AsyncClient, runtime: Runtime, users: Users
) -> None:
    reader = reader_of(app)
    job = job_of(runtime, users.alice_id)
    await alice.get("/v1/jobs")  # caches the key
    good = reader.connection.conninfo
    await reader.connection.drop()
    # Nothing listens on port 1.
    reader.connection.conninfo = "postgresql://root@127.0.0.1:1/nowhere"
    try:
        down = await alice.get(f"/v1/jobs/{job.id}", headers={"X-Request-ID": "down"})
        err = assert_error(down, 503, "store_unavailable")
        assert "could not be reached" in err["message"]
        assert down.headers["x-request-id"] == "down"
    finally:
        reader.connection.conninfo = good
    up = await alice.get(f"/v1/jobs/{job.id}")
    assert up.status_code == 200 and up.json()["id"] == job.id and reader.reads == 1


@on_postgres
async def test_a_revoked_key_is_refused_at_once(
    app: FastAPI, users: Users, runtime: Runtime
) -> None:
    job = job_of(runtime, users.alice_id)
    async with client_for(app, users.admin) as admin, client_for(app, users.alice) as alice:
        assert (await alice.get(f"/v1/jobs/{job.id}")).status_code == 200
        assert (await alice.get(f"/v1/jobs/{job.id}")).status_code == 200  # cached: the lane
        prefix = users.alice.split("_")[2]
        assert (await admin.delete(f"/v1/admin/keys/{prefix}")).status_code == 204
        assert_error(await alice.get(f"/v1/jobs/{job.id}"), 401, "unauthorized")
    assert reader_of(app).reads == 1


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_sqlite_has_no_lane_and_the_route_answers(
    app: FastAPI, alice: httpx.AsyncClient, runtime: Runtime, users: Users
) -> None:
    assert app.state.rh.job_reader is None
    job = job_of(runtime, users.alice_id)
    for _ in range(2):  # uncached, then cached: the route both times
        r = await alice.get(f"/v1/jobs/{job.id}")
        assert r.status_code == 200 and r.json()["id"] == job.id
