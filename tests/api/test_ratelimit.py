"""Rate limits: headers, 429 with Retry-After, per-user and per-route limits, one limit
shared by two API instances on one real Redis, and the fail-open/closed policy when Redis
goes away."""

from __future__ import annotations

import secrets

import pytest

from renderhouse.api import create_app
from tests.api.conftest import Users, assert_error, client_for

pytestmark = pytest.mark.anyio
REDIS_URL = "redis://127.0.0.1:6379/15"


def _redis_or_skip() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")


async def test_per_user_limit_and_headers(settings, runtime, users: Users) -> None:
    app = create_app(settings.model_copy(update={"rate_limit": "3/minute"}), runtime)
    async with client_for(app, users.alice) as alice, client_for(app, users.bob) as bob:
        seen = [await alice.get("/v1/jobs") for _ in range(3)]
        assert [r.status_code for r in seen] == [200, 200, 200]
        assert [r.headers["ratelimit-remaining"] for r in seen] == ["2", "1", "0"]
        assert seen[0].headers["ratelimit-limit"] == "3"
        limited = await alice.get("/v1/jobs")
        err = assert_error(limited, 429, "rate_limited")
        assert int(limited.headers["retry-after"]) >= 1 and err["details"]["scope"] == "user"
        assert (await bob.get("/v1/jobs")).status_code == 200  # bob has his own budget
    await app.state.rh.close()


async def test_upload_route_limit(settings, runtime, users: Users) -> None:
    app = create_app(settings.model_copy(update={"upload_rate_limit": "1/hour"}), runtime)
    async with client_for(app, users.alice) as alice:
        files = {"file": ("a.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")}
        assert (await alice.post("/v1/uploads", files=files)).status_code == 201
        r = await alice.post("/v1/uploads", files=files)
        assert_error(r, 429, "rate_limited")
        assert r.json()["error"]["details"]["scope"] == "uploads"
        assert (await alice.get("/v1/jobs")).status_code == 200


async def test_anonymous_limited_by_ip(settings, runtime) -> None:
    app = create_app(settings.model_copy(update={"rate_limit": "2/minute"}), runtime)
    async with client_for(app) as anon:
        url = "/v1/artifacts/00/x?expires=1&sig=" + "0" * 64
        codes = [(await anon.get(url)).status_code for _ in range(3)]
    assert codes == [403, 403, 429]


async def test_two_instances_share_one_limit_on_redis(settings, runtime, users: Users) -> None:
    _redis_or_skip()
    limit = 40
    shared = settings.model_copy(update={"redis_url": REDIS_URL, "rate_limit": f"{limit}/minute"})
    # A fresh namespace per run: the limit key includes the user id, new every test.
    apps = [create_app(shared, runtime), create_app(shared, runtime)]
    ok = 0
    clients = [client_for(a, users.alice) for a in apps]
    for i in range(limit * 2):
        r = await clients[i % 2].get("/v1/jobs")
        ok += r.status_code == 200
    for c in clients:
        await c.aclose()
    assert abs(ok - limit) <= limit * 0.05, ok


@pytest.mark.parametrize("fail_open", [True, False])
async def test_redis_down(settings, runtime, users: Users, fail_open: bool, caplog) -> None:
    dead = f"redis://127.0.0.1:1/{secrets.randbelow(10)}"  # nothing listens on port 1
    app = create_app(
        settings.model_copy(update={"redis_url": dead, "rate_limit_fail_open": fail_open}),
        runtime,
    )
    async with client_for(app, users.alice) as alice, client_for(app) as anon:
        r = await alice.get("/v1/jobs")
        if fail_open:
            assert r.status_code == 200
        else:
            assert_error(r, 503, "rate_limiter_unavailable")
        ready = await anon.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"]["rate_limits"]["ok"] is False
    assert any("rate-limit storage unreachable" in m for m in caplog.messages)
    assert app.state.rh.limiter.healthy is False


async def test_bad_limit_setting_is_refused(settings, runtime) -> None:
    from renderhouse.errors import SettingsError

    with pytest.raises(SettingsError):
        create_app(settings.model_copy(update={"rate_limit": "lots"}), runtime)
