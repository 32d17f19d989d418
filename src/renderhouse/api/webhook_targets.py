"""A job's ``webhook_url`` is checked against the deployment's policy when it is submitted
(422 ``webhook_url_forbidden``), so the mistake is reported to the caller at once rather
than as a failed delivery later. Delivery checks again (``duties.webhook``): this is
the early answer, that is the guarantee.

It runs inside the submit route's worker thread, after authentication (no anonymous caller
can probe what the server resolves) and after the body's own validation; the name lookup
gets its own small pool so a slow resolver is abandoned after ``LOOKUP_SECONDS``, not
waited for."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from renderhouse import netguard

log = logging.getLogger(__name__)

LOOKUP_SECONDS = 2.0
"""A name that does not resolve this fast is let through: delivery resolves it again."""

_lookups = ThreadPoolExecutor(max_workers=4, thread_name_prefix="webhook-lookup")


def check_webhook_url(url: str, allow_private: bool) -> None:
    """Raise ForbiddenTarget (422) when ``url`` may not receive webhooks."""
    target = netguard.parse(url)
    try:
        _lookups.submit(netguard.addresses, target, allow_private).result(LOOKUP_SECONDS)
    except (OSError, TimeoutError) as exc:
        log.info("webhook_url host %s did not resolve at submit (%s)", target.host, exc)
