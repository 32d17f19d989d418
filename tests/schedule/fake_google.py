"""A local server speaking Google's OAuth 2 endpoints (authorization with an immediate
consent, the authorization-code and refresh-token grants) and Calendar API v3 events
resource, as documented: Bearer access tokens that expire (401 ``authError``), client-chosen
base32hex ids (409 on a duplicate), deleted events kept as ``status: cancelled`` (410 on a
second delete, hidden unless ``showDeleted``), ``privateExtendedProperty`` filters, paging,
and injectable 403 ``rateLimitExceeded`` answers. Google's error body shape throughout."""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

_ID = re.compile(r"^[a-v0-9]{5,1024}$")


def _error(status: int, reason: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": status, "message": message,
                   "errors": [{"domain": "global", "reason": reason, "message": message}]}},
        status_code=status,
    )  # fmt: skip


def _private(event: dict[str, Any]) -> dict[str, Any]:
    return dict(event.get("extendedProperties", {}).get("private", {}))


@dataclass
class FakeGoogle:
    client_id: str = "client-1.apps.googleusercontent.com"
    client_secret: str = "secret-1"
    refresh_tokens: set[str] = field(default_factory=lambda: {"refresh-1"})
    access_tokens: set[str] = field(default_factory=set)
    calendars: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    rate_limited: int = 0
    """How many of the next event requests answer 403 rateLimitExceeded."""
    requests: list[tuple[str, str]] = field(default_factory=list)
    page_size: int = 50
    codes: dict[str, str] = field(default_factory=dict)
    """Authorization codes issued and not yet exchanged -> their redirect_uri."""
    deny_consent: bool = False
    """The user presses "Cancel" on the consent page (``error=access_denied``)."""

    def expire_tokens(self) -> None:
        self.access_tokens.clear()

    async def token(self, request: Request) -> Response:
        form = await request.form()
        # client_secret_post, or client_secret_basic as RFC 6749 §2.3.1 also allows
        client = (form.get("client_id"), form.get("client_secret"))
        auth = request.headers.get("authorization", "")
        if auth.startswith("Basic "):
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            client = (unquote_plus(user), unquote_plus(password))
        if client != (self.client_id, self.client_secret):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        if form.get("grant_type") == "authorization_code":
            return self._exchange(str(form.get("code")), str(form.get("redirect_uri")))
        if form.get("grant_type") != "refresh_token":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        if form.get("refresh_token") not in self.refresh_tokens:
            return JSONResponse({"error": "invalid_grant",
                                 "error_description": "Token has been expired or revoked."},
                                status_code=400)  # fmt: skip
        access = "ya29." + secrets.token_urlsafe(16)
        self.access_tokens.add(access)
        return JSONResponse({"access_token": access, "expires_in": 3599,
                             "token_type": "Bearer", "scope": "https://www.googleapis.com/"
                             "auth/calendar.events"})  # fmt: skip

    def _exchange(self, code: str, redirect_uri: str) -> Response:
        """A code is good once, and only with the redirect_uri it was issued for."""
        if self.codes.pop(code, None) != redirect_uri:
            return JSONResponse({"error": "invalid_grant", "error_description": "Bad Request"},
                                status_code=400)  # fmt: skip
        refresh = "1//" + secrets.token_urlsafe(24)
        self.refresh_tokens.add(refresh)
        access = "ya29." + secrets.token_urlsafe(16)
        self.access_tokens.add(access)
        return JSONResponse({"access_token": access, "expires_in": 3599, "refresh_token": refresh,
                             "token_type": "Bearer", "scope": "https://www.googleapis.com/"
                             "auth/calendar.events"})  # fmt: skip

    async def authorize(self, request: Request) -> Response:
        """The consent page, consenting at once: back to redirect_uri with a code."""
        q = request.query_params
        if q.get("client_id") != self.client_id or q.get("response_type") != "code":
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        redirect = q.get("redirect_uri", "")
        back = {"state": q.get("state", "")}
        if self.deny_consent:
            back["error"] = "access_denied"
        else:
            code = "4/" + secrets.token_urlsafe(20)
            self.codes[code] = redirect
            back["code"] = code
        return RedirectResponse(f"{redirect}?{urlencode(back)}", status_code=302)

    def _guard(self, request: Request) -> Response | None:
        self.requests.append((request.method, request.url.path))
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.access_tokens:
            return _error(401, "authError", "Request had invalid authentication credentials.")
        if self.rate_limited > 0:
            self.rate_limited -= 1
            return _error(403, "rateLimitExceeded", "Rate Limit Exceeded")
        return None

    async def events(self, request: Request) -> Response:
        if (denied := self._guard(request)) is not None:
            return denied
        cal = self.calendars.setdefault(request.path_params["calendar"], {})
        if request.method == "POST":
            body = await request.json()
            eid = body.get("id") or secrets.token_hex(13)
            if not _ID.match(eid):
                return _error(400, "invalid", "Invalid resource id value.")
            if eid in cal:
                return _error(409, "duplicate", "The requested identifier already exists.")
            for part in ("start", "end"):
                if part not in body:
                    return _error(400, "required", f"Missing {part} time.")
            cal[eid] = {**body, "id": eid, "status": "confirmed", "kind": "calendar#event",
                        "etag": f'"{secrets.token_hex(6)}"'}  # fmt: skip
            return JSONResponse(cal[eid])
        q = request.query_params
        items = list(cal.values())
        if q.get("showDeleted") != "true":
            items = [e for e in items if e["status"] != "cancelled"]
        for cond in q.getlist("privateExtendedProperty"):
            key, _, value = cond.partition("=")
            items = [e for e in items if _private(e).get(key) == value]
        start = int(q.get("pageToken") or 0)
        size = min(self.page_size, int(q.get("maxResults") or 250))
        page = items[start : start + size]
        body: dict[str, Any] = {"kind": "calendar#events", "items": page}
        if start + size < len(items):
            body["nextPageToken"] = str(start + size)
        return JSONResponse(body)

    async def event(self, request: Request) -> Response:
        if (denied := self._guard(request)) is not None:
            return denied
        cal = self.calendars.setdefault(request.path_params["calendar"], {})
        eid = request.path_params["event"]
        if eid not in cal:
            return _error(404, "notFound", "Not Found")
        if request.method == "DELETE":
            if cal[eid]["status"] == "cancelled":
                return _error(410, "deleted", "Resource has been deleted")
            cal[eid]["status"] = "cancelled"
            return Response(status_code=204)
        if request.method == "PATCH":
            patch = await request.json()
            cal[eid] = {**cal[eid], **patch, "etag": f'"{secrets.token_hex(6)}"'}
            return JSONResponse(cal[eid])
        return JSONResponse(cal[eid])

    def app(self) -> Starlette:
        base = "/calendar/v3/calendars/{calendar}/events"
        return Starlette(routes=[
            Route("/token", self.token, methods=["POST"]),
            Route("/auth", self.authorize, methods=["GET"]),
            Route(base, self.events, methods=["GET", "POST"]),
            Route(base + "/{event}", self.event, methods=["GET", "PATCH", "DELETE"]),
        ])  # fmt: skip
