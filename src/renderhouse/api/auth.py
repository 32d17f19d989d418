"""Who is calling: an API key (``Authorization: Bearer rh_live_…`` or ``X-API-Key``) or a
JWT bearer token (HS256 with the secret key; RS256 from ``jwt_jwks_url`` when set). The
``?token=`` query parameter is accepted only on the event streams, because browsers'
EventSource and WebSocket cannot send headers. Authentication is followed at once by the
caller's rate limit, so every authenticated route is limited per user.

A checked API key is trusted for ``auth_cache_seconds`` (2 s) by the process that checked it
and re-checked in the background while in use (``key_cache``), which saves a database read
per request; a revocation therefore reaches other API processes within that time (at once
in the process that revoked it)."""

from __future__ import annotations

import time
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from renderhouse import accounts
from renderhouse.accounts import User
from renderhouse.api.errors import Forbidden, Unauthorized
from renderhouse.api.state import ApiState

STREAM_SUFFIXES = ("/events", "/ws")
_jwks_clients: dict[str, jwt.PyJWKClient] = {}


def credential(conn: HTTPConnection) -> str | None:
    header = conn.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if conn.headers.get("x-api-key"):
        return conn.headers["x-api-key"].strip()
    if conn.url.path.endswith(STREAM_SUFFIXES) and conn.query_params.get("token"):
        return conn.query_params["token"]
    return None


def _decode_jwt(state: ApiState, token: str) -> dict[str, Any]:
    s = state.settings
    options: Any = {"require": ["exp", "sub"]}
    kwargs: dict[str, Any] = {"audience": s.jwt_audience, "issuer": s.jwt_issuer}
    try:
        alg = jwt.get_unverified_header(token).get("alg")
        if alg == "RS256" and s.jwt_jwks_url:
            client = _jwks_clients.setdefault(s.jwt_jwks_url, jwt.PyJWKClient(s.jwt_jwks_url))
            key: Any = client.get_signing_key_from_jwt(token).key
            return jwt.decode(token, key, algorithms=["RS256"], options=options, **kwargs)
        return jwt.decode(token, s.secret_key, algorithms=["HS256"], options=options, **kwargs)
    except jwt.ExpiredSignatureError:
        raise Unauthorized(
            "the bearer token has expired; get a new one", code="token_expired"
        ) from None
    except (jwt.PyJWTError, jwt.PyJWKClientError) as exc:
        raise Unauthorized(f"the bearer token is not valid: {exc}") from None


def cached_user(state: ApiState, token: str) -> User | None:
    """The user behind a recently verified API key, without touching the database."""
    if not token.startswith(accounts.KEY_TAG):
        return None
    return state.keys.get(token)


def lane_caller(state: ApiState, conn: HTTPConnection) -> User | None:
    """The caller when a lane (``submit_lane``, ``status_lane``) can serve the request on
    the event loop: a recently verified API key, read as the routes read credentials, and
    rate limits counted in this process. None sends the request to the route."""
    if not state.limiter.in_process:
        return None
    token = credential(conn)
    return cached_user(state, token) if token else None


def resolve_user(state: ApiState, token: str) -> User:
    """The user behind ``token`` or Unauthorized; runs in a worker thread (database reads)."""
    store = state.runtime.store
    if token.startswith(accounts.KEY_TAG):
        known = cached_user(state, token)
        if known is not None:
            return known
        with store.read() as conn:
            found = accounts.verify_key(conn, token)
        if found is None:
            state.keys.forget(token)
            raise Unauthorized("the API key is unknown or revoked")
        user, stale = found
        now = time.time()
        if stale and user.key_prefix:
            with store.begin() as conn:
                accounts.touch_key(conn, user.key_prefix, now)
        state.keys.put(token, user, touched=now)
        return user
    claims = _decode_jwt(state, token)
    with store.read() as conn:
        user_or_none = accounts.user_by_id(conn, str(claims["sub"]), str(claims.get("scope", "")))
    if user_or_none is None:
        raise Unauthorized("the bearer token's subject is not an active user")
    return user_or_none


def authenticate(conn: HTTPConnection) -> User:
    state: ApiState = conn.app.state.rh
    token = credential(conn)
    if token is None:
        raise Unauthorized(
            "authentication required: send 'Authorization: Bearer <API key or token>'"
        )
    user = resolve_user(state, token)
    method = conn.scope.get("method", "GET")
    conn.state.ratelimit_headers = state.limiter.check(user.id, method, conn.url.path)
    conn.state.user = user
    return user


async def current_user(request: Request) -> User:
    """Dependency: the authenticated, rate-limited caller. A cached API key with in-process
    limits is checked on the event loop (no I/O); anything that may wait on the database or
    Redis runs in a worker thread. The hot path thus skips a thread hand-off per request."""
    state: ApiState = request.app.state.rh
    token = credential(request)
    user = cached_user(state, token) if token is not None else None
    if user is None or not state.limiter.in_process:
        return await run_in_threadpool(authenticate, request)
    request.state.ratelimit_headers = state.limiter.check(user.id, request.method, request.url.path)
    request.state.user = user
    return user


async def admin_user(user: Annotated[User, Depends(current_user)]) -> User:
    if user.scope != "admin":
        raise Forbidden("this needs an admin API key")
    return user


def anonymous_limit(request: Request) -> None:
    """Dependency for unauthenticated routes (signed downloads): limit per client IP."""
    state: ApiState = request.app.state.rh
    ip = request.client.host if request.client else "unknown"
    request.state.ratelimit_headers = state.limiter.check(
        f"ip:{ip}", request.method, request.url.path
    )
