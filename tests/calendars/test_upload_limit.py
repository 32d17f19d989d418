"""The per-user upload limit (``upload_rate_limit``) reports itself in ``RateLimit-*``
headers on every upload, counts per user, and refuses with 429 and ``Retry-After``."""

from __future__ import annotations

import pytest

from renderhouse.api import create_app
from renderhouse.runtime import Runtime
from renderhouse.settings import Settings
from tests.api.conftest import assert_error, client_for
from tests.calendars.conftest import Users

pytestmark = pytest.mark.anyio
PDF = {"file": ("rota.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")}


async def test_upload_limit_headers(settings: Settings, runtime: Runtime, users: Users) -> None:
    app = create_app(settings.model_copy(update={"upload_rate_limit": "3/hour"}), runtime)
    async with client_for(app, users.alice) as alice, client_for(app, users.bob) as bob:
        seen = [await alice.post("/v1/uploads", files=PDF) for _ in range(3)]
        assert [r.status_code for r in seen] == [201, 201, 201]
        assert [r.headers["ratelimit-limit"] for r in seen] == ["3", "3", "3"]
        assert [r.headers["ratelimit-remaining"] for r in seen] == ["2", "1", "0"]
        assert 0 < int(seen[0].headers["ratelimit-reset"]) <= 3600
        refused = await alice.post("/v1/uploads", files=PDF)
        err = assert_error(refused, 429, "rate_limited")
        assert err["details"]["scope"] == "uploads" and int(refused.headers["retry-after"]) >= 1
        other = await bob.post("/v1/uploads", files=PDF)  # per user
        assert other.status_code == 201 and other.headers["ratelimit-remaining"] == "2"
        # other routes are not counted against uploads
        listing = await alice.get("/v1/uploads")
        assert listing.status_code == 200 and int(listing.headers["ratelimit-limit"]) > 3
    await app.state.rh.close()
