"""An API with LLM models configured: a fake OpenAI-protocol provider on a local port,
two in-process fake deployments with a fallback, and the bundled offline model. The
fixtures are in ``conftest.py``; these are their helpers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI

from renderhouse.models.gateway import Gateway
from renderhouse.providers.fake import FakeProvider


def llm_settings(openai_base: str) -> dict[str, Any]:
    return {
        "probe_seconds": 3600,
        "breaker_failures": 2,
        "models": {
            # 1 credit a prompt token, 2 a completion token: costs are easy to check.
            "gpt-fake": {
                "deployments": [
                    {
                        "provider": "openai",
                        "base_url": openai_base,
                        "upstream": "gpt-fake",
                        "price_in": 1000,
                        "price_out": 2000,
                        "timeout_seconds": 2,
                    }
                ],
                "retries": 0,
            },
            "flaky": {
                "deployments": [
                    {"provider": "fake", "upstream": "f1", "price_out": 1000, "label": "acme"},
                    {"provider": "fake", "upstream": "f2", "price_out": 1000, "label": "acme"},
                ],
                "retries": 0,
                "fallbacks": ["gpt-fake"],
            },
        },
    }


@dataclass
class Keys:
    admin: str
    alice: str
    bob: str
    alice_id: str
    bob_id: str


def gateway_of(app: FastAPI) -> Gateway:
    gateway: Gateway = app.state.rh.gateway
    return gateway


def fake_of(app: FastAPI, deployment: str) -> FakeProvider:
    model, _, index = deployment.partition("#")
    provider = gateway_of(app).registry.models[model].deployments[int(index)].provider
    assert isinstance(provider, FakeProvider)
    return provider


def client(app: FastAPI, key: str | None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers=headers
    )
