"""Authentication: API keys (revocable, hashed), JWT bearer tokens, admin scope, and the
error shape on unknown routes."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest
from sqlalchemy import select

from renderhouse.api.state import EnqueueHook
from renderhouse.store.schema_auth import api_keys
from tests.api.conftest import Users, assert_error, client_for

pytestmark = pytest.mark.anyio


async def test_no_or_bad_credentials(anon: httpx.AsyncClient) -> None:
    r = await anon.get("/v1/jobs")
    assert_error(r, 401, "unauthorized")
    assert r.headers["www-authenticate"] == "Bearer"
    for token in ["rh_live_abc_def", "rh_live_", "garbage", "a.b.c"]:
        r = await anon.get("/v1/jobs", headers={"Authorization": f"Bearer {token}"})
        assert_error(r, 401)


async def test_keys_are_stored_hashed(users: Users, runtime) -> None:
    with runtime.store.read() as conn:
        rows = conn.execute(select(api_keys)).all()
    # rh_live_<prefix>_<secret>; the secret itself may contain "_".
    secret = users.alice.split("_", 3)[3]
    assert len(secret) >= 40
    assert all(secret not in str(tuple(r)) for r in rows)


async def test_x_api_key_header_and_me(app, users: Users) -> None:
    async with client_for(app) as c:
        r = await c.get("/v1/me", headers={"X-API-Key": users.alice})
    assert r.status_code == 200 and r.json()["name"] == "alice"
    assert r.json()["webhook_secret"].startswith("whsec_")


async def test_revoked_key(app, users: Users) -> None:
    async with client_for(app, users.admin) as admin, client_for(app, users.alice) as alice:
        assert (await alice.get("/v1/jobs")).status_code == 200
        prefix = users.alice.split("_")[2]
        assert (await admin.delete(f"/v1/admin/keys/{prefix}")).status_code == 204
        assert_error(await alice.get("/v1/jobs"), 401, "unauthorized")
        assert_error(await admin.delete("/v1/admin/keys/nope"), 404, "not_found")


async def test_admin_routes_need_admin(app, users: Users) -> None:
    async with client_for(app, users.admin) as admin, client_for(app, users.alice) as alice:
        assert_error(await alice.get("/v1/admin/users"), 403, "forbidden")
        r = await admin.post("/v1/admin/users", json={"name": "carol"})
        assert r.status_code == 201
        assert_error(await admin.post("/v1/admin/users", json={"name": "carol"}), 409)
        k = await admin.post("/v1/admin/keys", json={"user": "carol"})
        assert k.status_code == 201
        async with client_for(app, k.json()["key"]) as carol:
            assert (await carol.get("/v1/me")).json()["name"] == "carol"
        keys = (await admin.get("/v1/admin/keys", params={"user": "carol"})).json()
        assert [x["prefix"] for x in keys] == [k.json()["prefix"]]
        assert "secret_sha256" not in keys[0]


def _token(settings, sub: str, exp: float, **claims) -> str:
    return jwt.encode({"sub": sub, "exp": int(exp), **claims}, settings.secret_key, "HS256")


async def test_jwt_bearer(app, users: Users, settings) -> None:
    good = _token(settings, users.alice_id, time.time() + 60)
    async with client_for(app, good) as c:
        assert (await c.get("/v1/me")).json()["id"] == users.alice_id
    expired = _token(settings, users.alice_id, time.time() - 60)
    async with client_for(app, expired) as c:
        assert_error(await c.get("/v1/me"), 401, "token_expired")
    forged = jwt.encode(
        {"sub": users.alice_id, "exp": int(time.time() + 60)}, "wrong-secret-key-000000000000000000"
    )
    async with client_for(app, forged) as c:
        assert_error(await c.get("/v1/me"), 401, "unauthorized")
    ghost = _token(settings, "u_nobody", time.time() + 60)
    async with client_for(app, ghost) as c:
        assert_error(await c.get("/v1/me"), 401, "unauthorized")
    no_exp = jwt.encode({"sub": users.alice_id}, settings.secret_key, "HS256")
    async with client_for(app, no_exp) as c:
        assert_error(await c.get("/v1/me"), 401)
    escalate = _token(settings, users.alice_id, time.time() + 60, scope="admin")
    async with client_for(app, escalate) as c:
        assert_error(await c.get("/v1/admin/users"), 403, "forbidden")


async def test_unknown_route_and_method(anon: httpx.AsyncClient) -> None:
    assert_error(await anon.get("/v1/nope"), 404, "not_found")
    assert_error(await anon.delete("/health/live"), 405, "method_not_allowed")


async def test_request_id_round_trip(anon: httpx.AsyncClient) -> None:
    r = await anon.get("/health/live", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    r = await anon.get("/health/live", headers={"X-Request-ID": "bad id\n"})
    assert r.headers["x-request-id"] != "bad id\n"


async def test_health_and_docs(anon: httpx.AsyncClient) -> None:
    assert (await anon.get("/health/live")).json() == {"status": "ok"}
    ready = await anon.get("/health/ready")
    assert ready.status_code == 200, ready.text
    assert set(ready.json()["checks"]) >= {"store", "storage", "rate_limits"}
    spec = (await anon.get("/openapi.json")).json()
    assert "/v1/jobs" in spec["paths"] and "/v1/uploads" in spec["paths"]
    assert (await anon.get("/docs")).status_code == 200


async def test_unhandled_errors_are_json_500(app, users: Users) -> None:
    def boom(conn, user, nj):
        raise RuntimeError("bug")

    app.state.rh.before_enqueue.append(EnqueueHook(boom))
    async with client_for(app, users.alice) as c:
        r = await c.post("/v1/jobs", json={"kind": "noop"})
    err = assert_error(r, 500, "internal_error")
    assert err["details"]["request_id"] == r.headers["x-request-id"]


async def test_cors(settings, runtime) -> None:
    from renderhouse.api import create_app

    app = create_app(settings.model_copy(update={"cors_origins": ["https://ui.example"]}), runtime)
    async with client_for(app) as c:
        r = await c.options(
            "/v1/jobs",
            headers={"Origin": "https://ui.example", "Access-Control-Request-Method": "POST"},
        )
        assert r.headers["access-control-allow-origin"] == "https://ui.example"
        r = await c.get("/health/live", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in r.headers
