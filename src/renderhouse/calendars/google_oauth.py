"""Connecting a Google Calendar: the OAuth 2 authorization-code flow (RFC 6749 §4.1, as
Google's "Using OAuth 2.0 for Web Server Applications" asks: ``access_type=offline`` and
``prompt=consent`` so a refresh token is always returned).

The ``state`` is signed (HMAC-SHA256 with the deployment's secret key), names the user who
started the flow, expires after ``STATE_SECONDS`` and carries the id the connection will
get, so a replayed callback finds that id taken. The callback must be called by the same
user (their key): a state started by someone else is refused, so nobody can attach their
own account's flow to a victim's consent (the CSRF RFC 6749 §10.12 warns of)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx

from renderhouse.calendars.connections import new_id
from renderhouse.errors import InvalidInput, NotConfigured, RenderhouseError
from renderhouse.settings import Settings

SCOPE = "https://www.googleapis.com/auth/calendar.events"
STATE_SECONDS = 600.0


class Unavailable(RenderhouseError):
    """Google's token endpoint is down or unreachable: the caller may retry."""

    code = "google_unreachable"
    http_status = 503


@dataclass(frozen=True)
class Flow:
    owner: str
    connection_id: str
    calendar: str
    name: str
    redirect_url: str
    expires_at: float


def _client(settings: Settings) -> tuple[str, str]:
    if not settings.google_client_id or settings.google_client_secret is None:
        raise NotConfigured(
            "Google Calendar is not configured on this server (set RENDERHOUSE_GOOGLE_CLIENT_ID "
            "and RENDERHOUSE_GOOGLE_CLIENT_SECRET)",
            code="google_not_configured",
        )
    return settings.google_client_id, settings.google_client_secret.get_secret_value()


def _sign(secret_key: str, payload: bytes) -> str:
    mac = hmac.new(secret_key.encode(), b"calendar-oauth:" + payload, hashlib.sha256)
    return mac.hexdigest()


def start(settings: Settings, flow: Flow) -> tuple[str, str]:
    """The consent page's URL and the state it carries."""
    client_id, _ = _client(settings)
    body = {
        "o": flow.owner, "i": flow.connection_id, "c": flow.calendar, "n": flow.name,
        "r": flow.redirect_url, "e": flow.expires_at,
    }  # fmt: skip
    payload = base64.urlsafe_b64encode(json.dumps(body, separators=(",", ":")).encode())
    state = payload.decode().rstrip("=") + "." + _sign(settings.secret_key, payload.rstrip(b"="))
    query = urlencode({
        "client_id": client_id, "redirect_uri": flow.redirect_url, "response_type": "code",
        "scope": SCOPE, "access_type": "offline", "prompt": "consent", "state": state,
        "include_granted_scopes": "true",
    })  # fmt: skip
    return f"{settings.google_auth_url}?{query}", state


def new_flow(owner: str, calendar: str, name: str, redirect_url: str) -> Flow:
    return Flow(owner, new_id(), calendar, name, redirect_url, time.time() + STATE_SECONDS)


def _bad_state(message: str) -> InvalidInput:
    return InvalidInput(message, code="oauth_state_invalid", details={"field": "state"})


def read_state(secret_key: str, state: str, owner: str, now: float | None = None) -> Flow:
    payload, _, mac = state.partition(".")
    try:
        signed = hmac.compare_digest(
            _sign(secret_key, payload.encode()).encode(), mac.encode("utf-8", "surrogatepass")
        )
    except UnicodeError:
        signed = False
    if not signed:
        raise _bad_state("the OAuth state is not one this server issued; start again")
    try:
        padded = payload + "=" * (-len(payload) % 4)
        body = json.loads(base64.urlsafe_b64decode(padded))
        flow = Flow(body["o"], body["i"], body["c"], body["n"], body["r"], float(body["e"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise _bad_state("the OAuth state is damaged; start again") from exc
    if flow.expires_at < (now if now is not None else time.time()):
        raise _bad_state(
            "the OAuth state expired (it is valid for 10 minutes); start again from "
            "POST /v1/calendars/google/authorize"
        )
    if flow.owner != owner:
        raise _bad_state("this authorisation was started by another user; start your own")
    return flow


def exchange(
    settings: Settings, code: str, redirect_url: str,
    transport: httpx.BaseTransport | None = None,
) -> str:  # fmt: skip
    """The refresh token for ``code`` (Google's token endpoint)."""
    client_id, client_secret = _client(settings)
    form = {
        "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_url,
        "client_id": client_id, "client_secret": client_secret,
    }  # fmt: skip
    try:
        with httpx.Client(transport=transport, timeout=15, trust_env=False) as http:
            r = http.post(settings.google_token_url, data=form)
    except httpx.HTTPError as exc:
        raise Unavailable(
            f"Google's token endpoint could not be reached ({type(exc).__name__}); retry",
            code="google_unreachable",
        ) from exc
    try:
        body = r.json()
    except ValueError:
        body = {}
    if r.status_code >= 500 or not isinstance(body, dict):
        raise Unavailable(
            f"Google's token endpoint answered {r.status_code}; retry", code="google_unreachable"
        )
    if r.status_code != 200:
        raise InvalidInput(
            "Google refused the authorization code (it was used already, expired or is "
            f"wrong: {body.get('error', r.status_code)}); start again",
            code="oauth_code_invalid", details={"provider_error": str(body.get("error", ""))},
        )  # fmt: skip
    refresh = body.get("refresh_token")
    if not isinstance(refresh, str) or not refresh:
        raise InvalidInput(
            "Google returned no refresh token; remove Renderhouse's access in your Google "
            "account settings and connect again",
            code="oauth_no_refresh_token",
        )
    return refresh
