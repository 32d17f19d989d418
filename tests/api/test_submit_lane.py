"""The submit lane (``api/submit_lane.py``): ``POST /v1/jobs`` answered without FastAPI's
machinery once the caller's API key is cached, with the same responses, errors, headers and
rate-limit accounting as the route, and everything else falling through to the route.

Which of the two served a request is observed, not mocked: the ``probe`` and ``priced``
generators below record the thread that validated each input. The lane validates on the
event loop (the test's own thread); the sync route always does it in a worker thread. An
input the lane finds invalid is validated twice: once by the lane (on the loop), then by
the route it falls through to (in a worker)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from pydantic import BaseModel
from sqlalchemy import func, select

from renderhouse import accounts, ledger
from renderhouse.api import create_app
from renderhouse.api.fastpath.submit_lane import MAX_LANE_BODY
from renderhouse.generators.noop import NoopGenerator
from renderhouse.runtime import Runtime
from renderhouse.settings import Settings
from renderhouse.store.schema import jobs
from tests.api.conftest import Users, app_with, assert_error, client_for

pytestmark = pytest.mark.anyio

ROUTE_THREAD = "worker"
LANE_THREAD = "loop"
PRICE = 25


class ProbeGenerator(NoopGenerator):
    """``noop`` that records the thread each input is validated on."""

    kind = "probe"

    def __init__(self) -> None:
        self.threads: list[int] = []

    def parse_input(self, data: Any) -> BaseModel:
        self.threads.append(threading.get_ident())
        return super().parse_input(data)


class PricedGenerator(ProbeGenerator):
    """A paid kind whose input needs no upload (so the lane can take it)."""

    kind = "priced"

    def estimate_cost(self, input: Any) -> int:
        return PRICE


def _add_generators(rt: Runtime) -> None:
    rt.registry.add(ProbeGenerator)
    rt.registry.add(PricedGenerator)


@pytest.fixture(autouse=True)
def _generators(runtime: Runtime) -> None:
    _add_generators(runtime)


def served_by(rt: Runtime, kind: str = "probe") -> list[str]:
    """Where each input of ``kind`` was validated, oldest first; call from the loop."""
    generator: Any = rt.registry.get(kind)
    loop = threading.get_ident()
    return [LANE_THREAD if t == loop else ROUTE_THREAD for t in generator.threads]


def reset(rt: Runtime, kind: str = "probe") -> None:
    generator: Any = rt.registry.get(kind)
    generator.threads.clear()


async def http_requests(client: httpx.AsyncClient, status: int, route: str = "/v1/jobs") -> float:
    return await _sample(
        client,
        "renderhouse_http_requests",
        {"method": "POST", "route": route, "status": str(status)},
    )


async def _sample(client: httpx.AsyncClient, family: str, labels: dict[str, str]) -> float:
    r = await client.get("/metrics")
    assert r.status_code == 200, r.text
    for fam in text_string_to_metric_families(r.text):
        if fam.name != family:
            continue
        for sample in fam.samples:
            if sample.name == f"{family}_total" and sample.labels == labels:
                return float(sample.value)
    return 0.0


def _no_credit_user(rt: Runtime, name: str = "carol") -> tuple[str, str]:
    with rt.store.begin() as conn:
        user = accounts.create_user(conn, name)
        return user.id, accounts.create_key(conn, user)


def _job_count(rt: Runtime, owner: str) -> int:
    with rt.store.read() as conn:
        return int(conn.execute(select(func.count()).where(jobs.c.owner == owner)).scalar_one())


PROBE = {"kind": "probe", "input": {"message": "hi"}}


# -- the lane serves cached keys -------------------------------------------------------------
async def test_cached_key_requests_are_served_by_the_lane(
    app: FastAPI, alice: httpx.AsyncClient, runtime: Runtime, users: Users, db_url: str
) -> None:
    first = await alice.post("/v1/jobs", json=PROBE)
    assert first.status_code == 201, first.text
    assert served_by(runtime) == [ROUTE_THREAD]  # the key was not cached yet
    assert app.state.rh.keys.get(users.alice) is not None

    before = await http_requests(alice, 201)
    unmatched = await http_requests(alice, 201, route="unmatched")
    for i in range(5):
        r = await alice.post("/v1/jobs", json={"kind": "probe", "input": {"message": f"m{i}"}})
        assert r.status_code == 201, r.text
        assert r.json()["input"] == {"message": f"m{i}"}
    # X-API-Key instead of a bearer token: cached just the same.
    async with client_for(app) as plain:
        r = await plain.post("/v1/jobs", json=PROBE, headers={"X-API-Key": users.alice})
        assert r.status_code == 201 and r.json()["owner"] == users.alice_id
    assert served_by(runtime) == [ROUTE_THREAD] + [LANE_THREAD] * 6
    # Counted under the route's own template, not as an unmatched path.
    assert await http_requests(alice, 201) - before == 6
    assert await http_requests(alice, 201, route="unmatched") == unmatched
    listed = (await alice.get("/v1/jobs", params={"kind": "probe"})).json()["data"]
    assert len(listed) == 7
    if db_url.startswith("postgresql"):
        # On PostgreSQL the lane enqueues from the event loop (the route never does).
        enqueuer = app.state.rh.async_enqueue
        assert enqueuer is not None and enqueuer.jobs >= 1


async def test_other_content_types_take_the_route(
    alice: httpx.AsyncClient, runtime: Runtime
) -> None:
    await alice.get("/v1/jobs")  # caches alice's key
    reset(runtime)
    # Not application/json (FastAPI still parses a +json type as JSON).
    raw = json.dumps(PROBE).encode()
    r = await alice.post(
        "/v1/jobs", content=raw, headers={"Content-Type": "application/vnd.api+json"}
    )
    assert r.status_code == 201, r.text
    assert served_by(runtime) == [ROUTE_THREAD]
    # application/json with parameters is still the lane's.
    r = await alice.post(
        "/v1/jobs", content=raw, headers={"Content-Type": "Application/JSON; charset=utf-8"}
    )
    assert r.status_code == 201, r.text
    assert served_by(runtime) == [ROUTE_THREAD, LANE_THREAD]


# -- responses match the route's ------------------------------------------------------------
async def test_lane_response_matches_the_route(alice: httpx.AsyncClient, runtime: Runtime) -> None:
    via_route = await alice.post("/v1/jobs", json=PROBE)
    via_lane = await alice.post("/v1/jobs", json=PROBE, headers={"X-Request-ID": "lane-rid.42"})
    assert served_by(runtime) == [ROUTE_THREAD, LANE_THREAD]
    assert (via_route.status_code, via_lane.status_code) == (201, 201)
    assert via_lane.headers["content-type"] == via_route.headers["content-type"]
    assert via_lane.headers["x-request-id"] == "lane-rid.42"
    for r in (via_route, via_lane):
        for header in ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"):
            assert r.headers[header].isdigit(), (header, r.headers)
    remaining = [int(r.headers["ratelimit-remaining"]) for r in (via_route, via_lane)]
    assert remaining[1] == remaining[0] - 1
    lane, route = via_lane.json(), via_route.json()
    assert set(lane) == set(route)
    volatile = {"id", "created_at", "updated_at"}
    assert {k: v for k, v in lane.items() if k not in volatile} == {
        k: v for k, v in route.items() if k not in volatile
    }
    # What the lane answered is what is stored.
    for answered in (lane, route):
        got = await alice.get(f"/v1/jobs/{answered['id']}")
        assert got.status_code == 200
        assert got.json() == answered


async def test_lane_paid_job_reserves_and_matches_what_is_stored(
    alice: httpx.AsyncClient, runtime: Runtime, users: Users
) -> None:
    with runtime.store.read() as conn:
        before = ledger.balance(conn, users.alice_id)
    await alice.post("/v1/jobs", json=PROBE)  # caches the key (and the queue depth)
    answered = []
    for _ in range(3):
        r = await alice.post("/v1/jobs", json={"kind": "priced"})
        assert r.status_code == 201, r.text
        answered.append(r.json())
    assert served_by(runtime, "priced") == [LANE_THREAD] * 3
    for job in answered:
        assert job["cost"] == {"estimated": PRICE, "reserved": PRICE, "posted": None}
        assert (await alice.get(f"/v1/jobs/{job['id']}")).json() == job
    with runtime.store.read() as conn:
        after = ledger.balance(conn, users.alice_id)
    assert after.held - before.held == 3 * PRICE
    assert before.available - after.available == 3 * PRICE


# -- errors through the lane path -----------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"kind": "nope"}, 422, "unknown_kind", None),
        ({"kind": "probe", "input": {"message": 5}}, 422, "invalid_input", "message"),
        ({"kind": "probe", "input": {"message": "x" * 1001}}, 422, "invalid_input", "message"),
        (b'{"kind": "probe",', 400, "malformed_json", None),
        (b"[]", 422, "invalid_request", None),
        ({"kind": "probe", "priority": -1}, 422, "invalid_request", "priority"),
        ({"kind": "probe", "priority": 101}, 422, "invalid_request", "priority"),
        ({"kind": "probe", "extra": 1}, 422, "invalid_request", "extra"),
        ({"input": {}}, 422, "invalid_request", "kind"),
    ],
)
async def test_lane_path_errors(
    alice: httpx.AsyncClient,
    runtime: Runtime,
    body: dict[str, Any] | bytes,
    status: int,
    code: str,
    field: str | None,
) -> None:
    assert (await alice.get("/v1/jobs")).status_code == 200  # caches the key
    before = await http_requests(alice, status)
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    r = await alice.post(
        "/v1/jobs",
        content=raw,
        headers={"Content-Type": "application/json", "X-Request-ID": "err-1"},
    )
    err = assert_error(r, status, code)
    assert r.headers["x-request-id"] == "err-1"
    if code != "malformed_json":  # FastAPI refuses bad JSON before it authenticates
        assert r.headers["ratelimit-limit"] and r.headers["ratelimit-remaining"]
    if field is not None:
        assert err["details"]["errors"][0]["field"] == field, err
        assert field in err["message"]
    assert await http_requests(alice, status) - before == 1
    assert (await alice.get("/v1/jobs")).json()["data"] == []
    if code == "invalid_input":
        # Seen by the lane, then rendered by the route it fell through to.
        assert served_by(runtime) == [LANE_THREAD, ROUTE_THREAD]


async def test_insufficient_credits_on_the_lane(
    app: FastAPI, runtime: Runtime, users: Users
) -> None:
    carol_id, carol_key = _no_credit_user(runtime)
    async with client_for(app, carol_key) as carol:
        # A free job first: caches the key (and, on PostgreSQL, a fresh queue depth, so
        # the paid ones go through the event loop's enqueue).
        assert (await carol.post("/v1/jobs", json=PROBE)).status_code == 201
        before = await http_requests(carol, 402)
        for _ in range(3):
            r = await carol.post("/v1/jobs", json={"kind": "priced"})
            err = assert_error(r, 402, "insufficient_credits")
            assert err["details"]["needed"] == PRICE and err["details"]["available"] == 0
            assert r.headers["ratelimit-remaining"]
        assert served_by(runtime, "priced") == [LANE_THREAD] * 3
        assert await http_requests(carol, 402) - before == 3
        listed = (await carol.get("/v1/jobs")).json()["data"]
        assert [j["kind"] for j in listed] == ["probe"]
    assert _job_count(runtime, carol_id) == 1
    with runtime.store.read() as conn:
        assert ledger.balance(conn, carol_id).to_dict() == {
            "account": carol_id,
            "available": 0,
            "held": 0,
        }


async def test_concurrent_lane_submissions_refuse_only_the_poor(
    app: FastAPI, alice: httpx.AsyncClient, runtime: Runtime, users: Users
) -> None:
    """Submissions arriving together share a transaction (group commit on SQLite, the event
    loop's batch on PostgreSQL): one caller's refusal must neither fail nor leak another's."""
    carol_id, carol_key = _no_credit_user(runtime)
    async with client_for(app, carol_key) as carol:
        await alice.post("/v1/jobs", json=PROBE)
        await carol.post("/v1/jobs", json=PROBE)
        with runtime.store.read() as conn:
            alice_before = ledger.balance(conn, users.alice_id)
        calls = [alice.post("/v1/jobs", json={"kind": "priced"}) for _ in range(6)]
        calls += [carol.post("/v1/jobs", json={"kind": "priced"}) for _ in range(6)]
        results = await asyncio.gather(*calls)
    assert [r.status_code for r in results] == [201] * 6 + [402] * 6, [r.text for r in results]
    for r in results[6:]:
        assert_error(r, 402, "insufficient_credits")
    assert served_by(runtime, "priced") == [LANE_THREAD] * 12
    assert _job_count(runtime, carol_id) == 1
    assert _job_count(runtime, users.alice_id) == 7
    with runtime.store.read() as conn:
        alice_after = ledger.balance(conn, users.alice_id)
        assert ledger.balance(conn, carol_id).held == 0
    assert alice_after.held - alice_before.held == 6 * PRICE


@contextlib.asynccontextmanager
async def queue_of_two(settings: Settings) -> AsyncIterator[tuple[Runtime, FastAPI]]:
    """An app whose queue holds two jobs (``max_queue_size=2``), closed afterwards."""
    async with app_with(settings, _add_generators, max_queue_size=2) as made:
        yield made


async def test_full_queue_on_the_lane(settings: Settings, users: Users) -> None:
    async with queue_of_two(settings) as (rt, app), client_for(app, users.alice) as alice:
        assert (await alice.post("/v1/jobs", json=PROBE)).status_code == 201  # route
        assert (await alice.post("/v1/jobs", json=PROBE)).status_code == 201  # lane
        full = await alice.post("/v1/jobs", json=PROBE, headers={"X-Request-ID": "full"})
        err = assert_error(full, 503, "queue_full")
        assert err["details"]["limit"] == 2
        assert int(full.headers["retry-after"]) >= 1
        assert full.headers["x-request-id"] == "full"
        assert full.headers["ratelimit-remaining"]
        assert served_by(rt) == [ROUTE_THREAD, LANE_THREAD, LANE_THREAD]
        assert len((await alice.get("/v1/jobs")).json()["data"]) == 2


# -- rate limits: once per request, on the lane and through it ------------------------------
BODIES: dict[str, tuple[dict[str, Any], int]] = {
    "valid": ({"kind": "probe"}, 201),  # the lane's (once the key is cached)
    "unknown": ({"kind": "nope"}, 422),  # parsed by the lane, refused by the route
    "extra": ({"kind": "probe", "extra": 1}, 422),  # not a JobCreate: straight to the route
    "bad_input": ({"kind": "probe", "input": {"message": 5}}, 422),  # validated twice
}


def _post(client: httpx.AsyncClient, name: str) -> Any:
    return client.post("/v1/jobs", json=BODIES[name][0])


def _trace(name: str, *, cached: bool, limited: bool = False) -> list[str]:
    """Where the generator validated the input of such a request: the route while the key
    is not cached; the lane, and the route again for an input it found invalid (unless the
    route refused the request at its rate limit first); nowhere for bodies refused before."""
    if name == "valid":
        return [LANE_THREAD if cached else ROUTE_THREAD]
    if name == "bad_input":
        if not cached:
            return [ROUTE_THREAD]
        return [LANE_THREAD] if limited else [LANE_THREAD, ROUTE_THREAD]
    return []


@pytest.mark.parametrize(
    ("sequence", "fourth"),
    [
        (("valid", "valid", "unknown"), "valid"),
        (("valid", "unknown", "valid"), "bad_input"),
        (("unknown", "bad_input", "valid"), "valid"),
        (("valid", "extra", "valid"), "unknown"),
        (("extra", "valid", "bad_input"), "extra"),
    ],
    ids=lambda v: "+".join(v) if isinstance(v, tuple) else f"then-{v}",
)
async def test_rate_limit_counts_each_request_once(
    settings: Settings, runtime: Runtime, users: Users, sequence: tuple[str, ...], fourth: str
) -> None:
    """With a limit of 3, three requests pass the limit whichever path they take (the
    first always the route's: the key is not cached yet) and the fourth is refused."""
    app = create_app(settings.model_copy(update={"rate_limit": "3/minute"}), runtime)
    try:
        async with client_for(app, users.alice) as alice:
            rejected = await _sample(
                alice, "renderhouse_rate_limit_rejections", {"route": "/v1/jobs"}
            )
            seen = [await _post(alice, name) for name in sequence]
            assert [r.status_code for r in seen] == [BODIES[n][1] for n in sequence], [
                r.text for r in seen
            ]
            assert [r.headers["ratelimit-remaining"] for r in seen] == ["2", "1", "0"]
            for r in seen:
                assert r.headers["ratelimit-limit"] == "3"
            limited = await _post(alice, fourth)
            err = assert_error(limited, 429, "rate_limited")
            assert err["details"]["scope"] == "user"
            assert int(limited.headers["retry-after"]) >= 1
            assert_error(await _post(alice, "valid"), 429, "rate_limited")
            after = await _sample(alice, "renderhouse_rate_limit_rejections", {"route": "/v1/jobs"})
            assert after - rejected == 2
        async with client_for(app, users.bob) as bob:  # bob has his own budget
            assert (await _post(bob, "valid")).status_code == 201
    finally:
        await app.state.rh.close()
    assert _job_count(runtime, users.alice_id) == sequence.count("valid")
    trace = _trace(sequence[0], cached=False)
    for name in sequence[1:]:
        trace += _trace(name, cached=True)
    trace += _trace(fourth, cached=True, limited=True) + _trace("valid", cached=True)
    assert served_by(runtime) == [*trace, ROUTE_THREAD]  # bob's: not cached


# -- what the lane leaves to the route ------------------------------------------------------
async def test_idempotent_requests_replay(alice: httpx.AsyncClient, runtime: Runtime) -> None:
    """On PostgreSQL the lane serves keyed requests (its enqueue looks the key up in its
    own transaction); elsewhere the header sends them to the route."""
    await alice.get("/v1/jobs")  # caches the key: only the header can send these to the route
    keyed_by = LANE_THREAD if runtime.store.dialect.name == "postgresql" else ROUTE_THREAD
    headers = {"Idempotency-Key": "lane-k1"}
    first = await alice.post("/v1/jobs", json=PROBE, headers=headers)
    again = await alice.post("/v1/jobs", json=PROBE, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200), again.text
    assert first.json()["id"] == again.json()["id"]
    assert again.json() == first.json()
    other = await alice.post(
        "/v1/jobs", json={"kind": "probe", "input": {"message": "other"}}, headers=headers
    )
    err = assert_error(other, 409, "idempotency_conflict")
    assert err["details"]["job_id"] == first.json()["id"]
    assert served_by(runtime) == [keyed_by] * 3
    # Without the header, the lane.
    plain = await alice.post("/v1/jobs", json=PROBE)
    assert plain.status_code == 201 and plain.json()["id"] != first.json()["id"]
    assert served_by(runtime)[-1] == LANE_THREAD
    assert len((await alice.get("/v1/jobs")).json()["data"]) == 2


async def _chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]
        await asyncio.sleep(0)


async def test_large_and_streamed_bodies(alice: httpx.AsyncClient, runtime: Runtime) -> None:
    await alice.get("/v1/jobs")
    pad = "x" * (MAX_LANE_BODY + 1000)
    big = json.dumps({"kind": "probe", "input": {"message": "big", "pad": pad}}).encode()
    assert len(big) > MAX_LANE_BODY
    json_type = {"Content-Type": "application/json"}
    r = await alice.post("/v1/jobs", content=big, headers=json_type)
    assert r.status_code == 201, r.text[:500]
    assert r.json()["input"] == {"message": "big"}
    assert served_by(runtime) == [ROUTE_THREAD]
    # Streamed in small pieces: the lane reads past its limit, then hands the route every
    # byte it read and the rest.
    r = await alice.post("/v1/jobs", content=_chunks(big, 7000), headers=json_type)
    assert r.status_code == 201, r.text[:500]
    assert r.json()["input"] == {"message": "big"}
    assert served_by(runtime) == [ROUTE_THREAD] * 2
    # A small body in many pieces is still the lane's, read whole.
    small = json.dumps({"kind": "probe", "input": {"message": "pieces"}}).encode()
    r = await alice.post("/v1/jobs", content=_chunks(small, 3), headers=json_type)
    assert r.status_code == 201 and r.json()["input"] == {"message": "pieces"}
    assert served_by(runtime)[-1] == LANE_THREAD
    # A large invalid body gets the app's one error shape from the route.
    bad = json.dumps({"kind": "probe", "extra": pad}).encode()
    err = assert_error(
        await alice.post("/v1/jobs", content=_chunks(bad, 5000), headers=json_type),
        422,
        "invalid_request",
    )
    assert err["details"]["errors"][0]["field"] == "extra"
    assert len((await alice.get("/v1/jobs")).json()["data"]) == 3


async def test_cors_headers_on_lane_responses(
    settings: Settings, runtime: Runtime, users: Users
) -> None:
    origin = "https://example.com"
    app = create_app(settings.model_copy(update={"cors_origins": [origin]}), runtime)
    try:
        async with client_for(app, users.alice) as alice:
            await alice.get("/v1/jobs")
            r = await alice.post("/v1/jobs", json=PROBE, headers={"Origin": origin})
            assert r.status_code == 201
            assert r.headers["access-control-allow-origin"] == origin
            exposed = r.headers["access-control-expose-headers"].lower()
            assert "x-request-id" in exposed and "ratelimit-remaining" in exposed
            refused = await alice.post(
                "/v1/jobs", json={"kind": "nope"}, headers={"Origin": origin}
            )
            assert_error(refused, 422, "unknown_kind")
            assert refused.headers["access-control-allow-origin"] == origin
            assert served_by(runtime) == [LANE_THREAD]
            other = await alice.post(
                "/v1/jobs", json=PROBE, headers={"Origin": "https://evil.example"}
            )
            assert other.status_code == 201
            assert "access-control-allow-origin" not in other.headers
    finally:
        await app.state.rh.close()


# -- who is calling: the lane must read the headers as the route does -----------------------
async def test_bearer_token_wins_over_x_api_key_whatever_the_order(
    app: FastAPI, users: Users, runtime: Runtime
) -> None:
    async with client_for(app, users.alice) as alice, client_for(app, users.bob) as bob:
        await alice.get("/v1/jobs")
        await bob.get("/v1/jobs")
    async with client_for(app) as c:
        for headers in (
            [("X-API-Key", users.alice), ("Authorization", f"Bearer {users.bob}")],
            [("Authorization", f"Bearer {users.bob}"), ("X-API-Key", users.alice)],
        ):
            r = await c.post("/v1/jobs", json=PROBE, headers=headers)
            assert r.status_code == 201
            assert r.json()["owner"] == users.bob_id
        # Not a bearer token: the X-API-Key counts.
        r = await c.post(
            "/v1/jobs",
            json=PROBE,
            headers=[("Authorization", "Basic Zm9vOmJhcg=="), ("X-API-Key", users.alice)],
        )
        assert r.status_code == 201 and r.json()["owner"] == users.alice_id
    assert served_by(runtime) == [LANE_THREAD] * 3


async def test_repeated_authorization_header_is_read_as_the_route_reads_it(
    app: FastAPI, users: Users, runtime: Runtime
) -> None:
    """Two Authorization headers: the route authenticates the first; the lane must not
    serve the request as the user of another one."""
    async with client_for(app, users.alice) as alice:
        await alice.get("/v1/jobs")  # alice's key is cached
    bogus = "rh_live_000000000000_not-a-real-secret"
    headers = [("Authorization", f"Bearer {bogus}"), ("Authorization", f"Bearer {users.alice}")]
    async with client_for(app) as c:
        route = await c.get("/v1/jobs", headers=headers)
        assert_error(route, 401, "unauthorized")  # the route reads the first header
        lane = await c.post("/v1/jobs", json=PROBE, headers=headers)
        assert lane.status_code == route.status_code, (
            f"POST /v1/jobs answered {lane.status_code} as owner "
            f"{lane.json().get('owner')} for credentials the route refuses"
        )
    assert _job_count(runtime, users.alice_id) == 0
