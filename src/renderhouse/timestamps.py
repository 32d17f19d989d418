"""The one conversion point for times shown to users: the store keeps epoch seconds (cheap to
compare and index); every HTTP response, the client and the CLI show RFC 3339 in UTC
(``2026-12-07T15:24:01.123456Z``), which people, JavaScript's ``Date`` and OpenAPI tooling
(``format: date-time``) all read."""

from __future__ import annotations

from datetime import UTC, datetime


def rfc3339(ts: float) -> str:
    """Epoch seconds as an RFC 3339 UTC timestamp."""
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def parse(text: str) -> float:
    """An RFC 3339 timestamp back to epoch seconds (what the client hands to arithmetic)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
