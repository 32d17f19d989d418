"""Optional error capture with Sentry (``RENDERHOUSE_SENTRY_DSN``): unexpected exceptions
in the API (and anything logged at ERROR) are sent to the DSN's project, and nothing of
what callers sent: no request bodies, headers (API keys, tokens, cookies), query strings or
local variables. Without a DSN nothing is loaded."""

from __future__ import annotations

from typing import Any

from renderhouse.settings import Settings

KEPT_REQUEST_FIELDS = ("method", "url")


def scrub(event: dict[str, Any], _hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """Keep only the method and the URL without its query of a request; drop the user."""
    request = event.get("request")
    if isinstance(request, dict):
        kept = {k: request[k] for k in KEPT_REQUEST_FIELDS if k in request}
        if isinstance(kept.get("url"), str):
            kept["url"] = kept["url"].split("?", 1)[0]
        event["request"] = kept
    event.pop("user", None)
    return event


def scrub_breadcrumb(crumb: dict[str, Any], _hint: dict[str, Any] | None = None) -> dict[str, Any]:
    data = crumb.get("data")
    if isinstance(data, dict):
        for key in ("url", "http.query", "http.fragment"):
            if isinstance(data.get(key), str):
                data[key] = data[key].split("?", 1)[0] if key == "url" else ""
    return crumb


def install(settings: Settings) -> bool:
    """Start capturing when a DSN is set; True if it did."""
    if not settings.sentry_dsn:
        return False
    import logging

    import sentry_sdk
    from sentry_sdk.integrations.logging import LoggingIntegration

    sentry_sdk.init(
        dsn=settings.sentry_dsn.get_secret_value(),
        environment=settings.mode,
        data_collection={"user_info": False, "http_bodies": [], "stack_frame_variables": False},
        max_request_body_size="never",
        traces_sample_rate=0.0,
        auto_session_tracking=False,
        send_client_reports=False,
        # The API answers every unexpected exception itself (a JSON 500, logged with its
        # traceback by api/middleware.py), so errors reach Sentry as ERROR log records.
        integrations=[LoggingIntegration(level=None, event_level=logging.ERROR)],
        before_send=scrub,  # type: ignore[arg-type]
        before_breadcrumb=scrub_breadcrumb,
    )
    return True
