"""A deployment: one configured place a model runs, with its provider client, breaker
and health. Built from ``DeploymentSettings``; one provider client per deployment."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from renderhouse.models.config import DeploymentSettings
from renderhouse.models.health import Health
from renderhouse.providers.base import ChatProvider
from renderhouse.queue.clock import Clock
from renderhouse.worker.breaker import CircuitBreaker


def build_provider(cfg: DeploymentSettings, *, offline_threads: int = 2) -> ChatProvider:
    key = cfg.api_key.get_secret_value() if cfg.api_key else None
    if cfg.provider == "openai":
        from renderhouse.providers.openai_http import OpenAIProvider

        assert cfg.base_url is not None
        return OpenAIProvider(cfg.base_url, key, label=cfg.account)
    if cfg.provider == "gemini":
        from renderhouse.providers.gemini import GeminiProvider

        base = cfg.base_url or "https://generativelanguage.googleapis.com"
        return GeminiProvider(base, key, label=cfg.account)
    if cfg.provider == "llamacpp":
        from pathlib import Path

        from renderhouse.providers.llamacpp import LlamaCppProvider

        path = Path(cfg.base_url.removeprefix("file://")) if cfg.base_url else None
        return LlamaCppProvider(
            path, alias=cfg.upstream, context_tokens=cfg.context_tokens, threads=offline_threads
        )
    from renderhouse.providers.fake import FakeProvider

    return FakeProvider(models=[cfg.upstream])


@dataclass
class Deployment:
    id: str
    """``<model>#<index>``: stable while the settings are."""
    model: str
    settings: DeploymentSettings
    provider: ChatProvider
    breaker: CircuitBreaker
    health: Health
    active_probe_seconds: float | None = None
    """The opt-in active probe's interval (the deployment's, else its model's); None: off."""

    @classmethod
    def build(
        cls,
        model: str,
        index: int,
        cfg: DeploymentSettings,
        clock: Clock,
        *,
        provider: ChatProvider | None = None,
        failures: int = 3,
        cooldown: float = 30.0,
        window: float = 300.0,
        offline_threads: int = 2,
        active_probe_seconds: float | None = None,
    ) -> Deployment:
        ident = f"{model}#{index}"
        breaker = CircuitBreaker(ident, clock, threshold=failures, cooldown=cooldown)
        return cls(
            ident,
            model,
            cfg,
            provider or build_provider(cfg, offline_threads=offline_threads),
            breaker,
            Health(clock, breaker, window),
            cfg.active_probe_seconds or active_probe_seconds,
        )

    def cost(self, prompt_tokens: int, completion_tokens: int) -> int:
        """Credits for this much use, rounded up to a whole credit."""
        s = self.settings
        raw = (prompt_tokens * s.price_in + completion_tokens * s.price_out) / 1000
        return math.ceil(raw - 1e-9) if raw > 0 else 0

    def to_dict(self) -> dict[str, Any]:
        s = self.settings
        return {
            "id": self.id,
            "provider": s.provider,
            "upstream": s.upstream,
            "price_in_per_1k": s.price_in,
            "price_out_per_1k": s.price_out,
            "context_tokens": s.context_tokens,
            "max_output_tokens": s.max_output_tokens,
            "active_probe_seconds": self.active_probe_seconds,
            "health": self.health.to_dict(),
        }
