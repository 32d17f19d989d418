"""RS256 bearer tokens verified against a JWKS document served over real HTTP."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from renderhouse.api import create_app
from tests.api.conftest import Users, assert_error, client_for

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def jwks_url(rsa_key: rsa.RSAPrivateKey) -> Iterator[str]:
    jwk = json.loads(RSAAlgorithm.to_jwk(rsa_key.public_key()))
    body = json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    server.shutdown()
    server.server_close()


async def test_rs256_from_jwks(settings, runtime, users: Users, rsa_key, jwks_url: str) -> None:
    app = create_app(
        settings.model_copy(update={"jwt_jwks_url": jwks_url, "jwt_audience": "renderhouse"}),
        runtime,
    )
    claims = {"sub": users.bob_id, "aud": "renderhouse", "exp": int(time.time()) + 60}
    token = jwt.encode(claims, rsa_key, "RS256", headers={"kid": "k1"})
    async with client_for(app, token) as c:
        me = await c.get("/v1/me")
        assert me.status_code == 200, me.text
        assert me.json()["id"] == users.bob_id
    wrong_aud = jwt.encode({**claims, "aud": "other"}, rsa_key, "RS256", headers={"kid": "k1"})
    async with client_for(app, wrong_aud) as c:
        assert_error(await c.get("/v1/me"), 401, "unauthorized")
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, other_key, "RS256", headers={"kid": "k1"})
    async with client_for(app, forged) as c:
        assert_error(await c.get("/v1/me"), 401, "unauthorized")
