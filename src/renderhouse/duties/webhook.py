"""``webhook``: POST one signed job notice. A non-2xx answer or a network error fails the
attempt, and the queue retries it with exponential backoff (``webhook_max_attempts``).

The URL's host is resolved here, every address is checked (``renderhouse.netguard``) and
the request goes to a checked address with the original ``Host`` header and TLS server
name, so what was checked is what is connected to. A refused target fails for good."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from pydantic import BaseModel, Field

from renderhouse import netguard
from renderhouse.errors import JobFailed
from renderhouse.generators.base import Generator, Resources
from renderhouse.generators.context import Context
from renderhouse.webhooks import HEADER, signature_header


class WebhookInput(BaseModel):
    url: str = Field(pattern=r"^https?://", max_length=2048)
    body: str
    secret: str
    job_id: str = ""
    event: str = ""
    timeout: float = Field(10.0, gt=0, le=120)


class WebhookGenerator(Generator):
    kind = "webhook"
    internal = True
    Input = WebhookInput
    default_timeout = 30.0
    resources = Resources(cpu=0.0, memory_mb=0, isolated=False)
    description = "Delivers a signed job notice to a webhook URL (enqueued by the server)."
    transport: httpx.AsyncBaseTransport | None = None  # tests may inject one
    lookup: netguard.Lookup | None = None  # and a resolver
    allow_private = False
    """Set from ``webhook_allow_private`` by ``renderhouse.webhooks.install``."""

    async def run(self, ctx: Context, input: WebhookInput) -> dict[str, Any]:  # type: ignore[override]
        target = netguard.parse(input.url)
        try:
            allowed = await asyncio.to_thread(
                netguard.addresses, target, self.allow_private, self.lookup
            )
        except OSError as exc:
            raise JobFailed(
                f"webhook to {input.url} failed: {target.host} does not resolve ({exc})",
                code="webhook_unreachable",
            ) from exc
        headers = {
            "Host": target.authority,
            "Content-Type": "application/json",
            "User-Agent": "renderhouse-webhooks/1",
            HEADER: signature_header(input.secret, input.body),
            "Renderhouse-Event": input.event,
        }
        # The certificate is checked against the name, while the socket goes to the address.
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        url = httpx.URL(target.url)
        async with httpx.AsyncClient(
            timeout=input.timeout,
            transport=self.transport,
            follow_redirects=False,
            trust_env=False,  # a proxy from the environment would connect to the name again
        ) as client:
            for i, address in enumerate(allowed):
                try:
                    response = await client.post(
                        url.copy_with(host=str(address)),
                        content=input.body,
                        headers=headers,
                        extensions=extensions,
                    )
                    break
                except httpx.ConnectError as exc:
                    if i + 1 < len(allowed):
                        continue  # the next address of the name may answer
                    raise self._unreachable(input.url, exc) from exc
                except httpx.HTTPError as exc:
                    raise self._unreachable(input.url, exc) from exc
        if not 200 <= response.status_code < 300:
            raise JobFailed(
                f"webhook to {input.url} answered {response.status_code}",
                code="webhook_rejected",
                details={"status_code": response.status_code},
            )
        return {"status_code": response.status_code}

    @staticmethod
    def _unreachable(url: str, exc: Exception) -> JobFailed:
        return JobFailed(f"webhook to {url} failed: {exc}", code="webhook_unreachable")
