"""A job's ``webhook_url`` is checked against the deployment's policy when it is submitted
(422 ``webhook_url_forbidden``), so the mistake is reported to the caller at once rather
than as a failed delivery later. Delivery checks again (``generators.webhook``): this is
the early answer, that is the guarantee.

It is a dependency of the jobs router, not a schema validator, because the policy is a
setting and resolving a name must not block the event loop, where bodies are validated."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Annotated

from fastapi import Depends, Request

from renderhouse import netguard
from renderhouse.accounts import User
from renderhouse.api.auth import current_user

log = logging.getLogger(__name__)

LOOKUP_SECONDS = 2.0
"""A name that does not resolve this fast is let through: delivery resolves it again."""


async def check_webhook_url(
    request: Request, _user: Annotated[User, Depends(current_user)]
) -> None:
    """Refuse a forbidden ``webhook_url`` in a JSON body (after authentication, so no
    anonymous caller can probe what the server resolves)."""
    if request.method != "POST":
        return
    raw = await request.body()
    if not raw:
        return
    try:
        body = json.loads(raw)
    except ValueError:
        return  # the body's own validation reports it
    url = body.get("webhook_url") if isinstance(body, dict) else None
    if not isinstance(url, str):
        return
    try:
        target = netguard.parse(url)
    except netguard.ForbiddenTarget as exc:
        if exc.details.get("reason") != "credentials":
            return  # not an http(s) URL at all: the schema says so in its own words
        raise
    allow_private = request.app.state.rh.settings.webhook_allow_private
    try:
        # asyncio's executor, not anyio's: a timed-out lookup is abandoned, not awaited.
        await asyncio.wait_for(
            asyncio.to_thread(netguard.addresses, target, allow_private), LOOKUP_SECONDS
        )
    except (OSError, TimeoutError) as exc:
        log.info("webhook_url host %s did not resolve at submit (%s)", target.host, exc)
