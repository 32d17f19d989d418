"""Where a CalDAV connection may point: an http(s) URL without credentials in it, and not
the server itself, its private network or a metadata service unless
``calendar_allow_private`` says so (SSRF; ``renderhouse.netguard``). Checked when the
connection is made (literal addresses; no lookup in the request path) and again, with the
name resolved, before every sync."""

from __future__ import annotations

from renderhouse import netguard
from renderhouse.errors import InvalidInput


def _refused(url: str, reason: str, message: str) -> InvalidInput:
    return InvalidInput(
        message, code="calendar_url_forbidden",
        details={"field": "url", "reason": reason, "url": url},
    )  # fmt: skip


def check_url(url: str, allow_private: bool) -> str:
    """``url`` normalised, or ``calendar_url_forbidden`` (422)."""
    try:
        target = netguard.parse(url)
    except netguard.ForbiddenTarget as exc:
        reason = str(exc.details.get("reason", "invalid_url"))
        raise _refused(
            url, reason, f"url must be an http(s) CalDAV URL without credentials, not {url!r}"
        ) from exc
    if target.address is not None:
        why = netguard.refusal(target.address, allow_private)
        if why is not None:
            raise _refused(
                url, why,
                f"url points at a {why.replace('_', ' ')} address, which this server may not "
                "reach (RENDERHOUSE_CALENDAR_ALLOW_PRIVATE admits on-premises servers)",
            )  # fmt: skip
    elif not allow_private and target.host.lower().rstrip(".") in ("localhost",):
        raise _refused(url, "loopback", "url points at this server itself")
    return target.url


def check_before_sync(url: str, allow_private: bool) -> None:
    """Resolve the name and check every address (``calendar_url_forbidden``, final)."""
    check_url(url, allow_private)
    try:
        netguard.check(url, allow_private)
    except netguard.ForbiddenTarget as exc:
        raise _refused(url, str(exc.details.get("reason", "")), exc.message) from exc
