"""A Google Calendar API v3 client on httpx: OAuth 2 refresh-token grant for access tokens,
``events.list/insert/patch/delete``, and the provider's failure modes handled as its
documentation asks: 401 → refresh the access token once and retry; 403
``rateLimitExceeded``/``userRateLimitExceeded`` and 429/5xx → exponential backoff with
jitter (Google's "Handle API errors" guide); 404/410 on delete → already gone.

The refresh token is the caller's to keep (encrypted at rest); ``on_token`` tells it when the
provider rotates tokens."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from renderhouse.errors import JobFailed

API = "https://www.googleapis.com/calendar/v3"
TOKEN_URL = "https://oauth2.googleapis.com/token"
RATE_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"}


class GoogleError(JobFailed):
    """A Calendar API call that failed for good; ``code`` names the reason."""

    code = "google_calendar_error"


@dataclass
class Token:
    access_token: str
    refresh_token: str
    expires_at: float = 0.0


class GoogleCalendar:
    def __init__(
        self, client_id: str, client_secret: str, token: Token, *, api: str = API,
        token_url: str = TOKEN_URL, transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time,
        max_tries: int = 6, on_token: Callable[[Token], None] | None = None,
    ) -> None:  # fmt: skip
        self.client_id, self.client_secret, self.token = client_id, client_secret, token
        self.api, self.token_url = api.rstrip("/"), token_url
        self.http = httpx.Client(transport=transport, timeout=30)
        self.sleep, self.clock, self.max_tries = sleep, clock, max_tries
        self.on_token = on_token
        self.backoffs: list[float] = []
        """Seconds slept before each retry (what a test or a log wants to see)."""

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> GoogleCalendar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def refresh(self) -> None:
        r = self.http.post(self.token_url, data={
            "grant_type": "refresh_token", "refresh_token": self.token.refresh_token,
            "client_id": self.client_id, "client_secret": self.client_secret,
        })  # fmt: skip
        if r.status_code != 200:
            raise GoogleError(
                "Google refused the stored authorisation (the refresh token was revoked or "
                "expired); connect the calendar again",
                code="google_auth_revoked", details={"status": r.status_code},
            )  # fmt: skip
        body = r.json()
        self.token = Token(
            body["access_token"], body.get("refresh_token", self.token.refresh_token),
            self.clock() + float(body.get("expires_in", 3600)),
        )  # fmt: skip
        if self.on_token:
            self.on_token(self.token)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        if self.token.expires_at and self.token.expires_at < self.clock() + 60:
            self.refresh()
        refreshed = False
        for attempt in range(self.max_tries):
            r = self.http.request(
                method, self.api + path,
                headers={"Authorization": f"Bearer {self.token.access_token}"}, **kwargs,
            )  # fmt: skip
            if r.status_code == 401 and not refreshed:
                self.refresh()
                refreshed = True
                continue
            if self._retryable(r) and attempt + 1 < self.max_tries:
                delay = min(32.0, 2.0**attempt) + random.uniform(0, 1)
                self.backoffs.append(delay)
                self.sleep(delay)
                continue
            return r
        return r

    @staticmethod
    def _retryable(r: httpx.Response) -> bool:
        if r.status_code in (429, 500, 502, 503, 504):
            return True
        if r.status_code == 403:
            try:
                errors = r.json()["error"].get("errors", [])
            except (ValueError, KeyError, AttributeError):
                return False
            return any(e.get("reason") in RATE_REASONS for e in errors)
        return False

    def _check(self, r: httpx.Response, what: str) -> dict[str, Any]:
        if r.status_code >= 400:
            try:
                message = r.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = r.text[:200]
            raise GoogleError(
                f"Google Calendar {what} failed: {r.status_code} {message}",
                details={"status": r.status_code},
            )
        return r.json() if r.content else {}

    def list_events(self, calendar: str, source: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        params: dict[str, Any] = {
            "privateExtendedProperty": f"renderhouseSource={source}", "maxResults": 250,
            "showDeleted": "true",
        }  # fmt: skip
        while True:
            body = self._check(self.request("GET", self._events(calendar), params=params), "list")
            out.extend(body.get("items", []))
            if not body.get("nextPageToken"):
                return out
            params["pageToken"] = body["nextPageToken"]

    def insert(self, calendar: str, event: dict[str, Any]) -> dict[str, Any]:
        return self._check(self.request("POST", self._events(calendar), json=event), "insert")

    def patch(self, calendar: str, event_id: str, event: dict[str, Any]) -> dict[str, Any]:
        r = self.request("PATCH", f"{self._events(calendar)}/{event_id}", json=event)
        return self._check(r, "patch")

    def delete(self, calendar: str, event_id: str) -> bool:
        """False when the event was already gone (404, or 410 for a deleted one)."""
        r = self.request("DELETE", f"{self._events(calendar)}/{event_id}")
        if r.status_code in (404, 410):
            return False
        self._check(r, "delete")
        return True

    @staticmethod
    def _events(calendar: str) -> str:
        return f"/calendars/{quote(calendar, safe='')}/events"
