"""``webhook``: POST one signed job notice. A non-2xx answer or a network error fails the
attempt, and the queue retries it with exponential backoff (``webhook_max_attempts``)."""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import BaseModel, Field

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
    Input = WebhookInput
    default_timeout = 30.0
    resources = Resources(cpu=0.0, memory_mb=0, isolated=False)
    description = "Delivers a signed job notice to a webhook URL (enqueued by the server)."
    transport: httpx.AsyncBaseTransport | None = None  # tests may inject one

    async def run(self, ctx: Context, input: WebhookInput) -> dict[str, Any]:  # type: ignore[override]
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "renderhouse-webhooks/1",
            HEADER: signature_header(input.secret, input.body),
            "Renderhouse-Event": input.event,
        }
        try:
            async with httpx.AsyncClient(
                timeout=input.timeout, transport=self.transport, follow_redirects=False
            ) as client:
                response = await client.post(input.url, content=input.body, headers=headers)
        except httpx.HTTPError as exc:
            raise JobFailed(
                f"webhook to {input.url} failed: {exc}", code="webhook_unreachable"
            ) from exc
        if not 200 <= response.status_code < 300:
            raise JobFailed(
                f"webhook to {input.url} answered {response.status_code}",
                code="webhook_rejected",
                details={"status_code": response.status_code},
            )
        return {"status_code": response.status_code}
