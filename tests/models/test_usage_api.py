"""``GET /v1/usage`` (own) and ``GET /v1/admin/analytics`` (everyone's) after real
requests, including a failed one; periods are RFC 3339 and checked."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from tests.models.api_fixtures import Keys, client, fake_of

pytestmark = pytest.mark.anyio
BODY = {"model": "flaky", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}


async def test_usage_and_analytics(app: FastAPI, keys: Keys) -> None:
    for deployment in ("flaky#0", "flaky#1"):
        fake_of(app, deployment).reply = "one two three"
    async with client(app, keys.alice) as alice, client(app, keys.admin) as admin:
        assert (await alice.post("/v1/chat/completions", json=BODY)).status_code == 200
        fake_of(app, "flaky#0").plan("reject")  # the caller's fault: final, recorded
        assert (await alice.post("/v1/chat/completions", json=BODY)).status_code == 400
        own = (await alice.get("/v1/usage")).json()
        assert own["total"] == {
            "requests": 2,
            "errors": 1,
            "prompt_tokens": 1,
            "completion_tokens": 3,
            "cost": 3,
        }
        assert own["since"].endswith("Z") and own["models"][0]["model"] == "flaky"
        assert (await alice.get("/v1/admin/analytics")).status_code == 403
        report = (await admin.get("/v1/admin/analytics")).json()
        (row,) = report["models"]
        assert row["model"] == "flaky" and row["kind"] == "api" and row["requests"] == 2
        assert row["success_rate"] == 0.5 and row["spend"] == 3
        assert row["latency_p50_ms"] is not None
        assert report["spend_by_user"] == [{"user": keys.alice_id, "spend": 3}]
        bad = await alice.get("/v1/usage", params={"since": "yesterday"})
        assert bad.status_code == 422 and bad.json()["error"]["details"]["field"] == "since"
        empty = await alice.get(
            "/v1/usage", params={"since": "2020-01-01T00:00:00Z", "until": "2020-01-02T00:00:00Z"}
        )
        assert empty.json()["total"]["requests"] == 0
