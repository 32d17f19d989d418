"""The operator dashboard: static files (no build step) served by the API app at ``/``.
It talks to the public API only, with an API key kept in the tab's ``sessionStorage``
(gone when the tab closes, never in a cookie, so no CSRF surface). ``create_app`` calls
``mount(app)`` after including its routers."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
# A strict policy: only our own scripts; artifacts (the spin viewer) load in a frame from
# the same origin; inline styles are allowed for the SVG charts' computed attributes.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; frame-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'self'"
)


def mount(app: FastAPI) -> None:
    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(
            STATIC / "index.html",
            headers={"Content-Security-Policy": CSP, "Cache-Control": "no-cache"},
        )

    app.mount("/dashboard", StaticFiles(directory=STATIC), name="dashboard")
