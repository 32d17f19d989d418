"""Named models → ordered deployments, plus fallbacks to other named models. The bundled
offline model is registered as ``smollm2`` when its files are installed (and the settings
allow it). The registry is the one object the API, the CLI and the probe share."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from renderhouse.errors import NotFound
from renderhouse.models.config import OFFLINE_MODEL, DeploymentSettings, LLMSettings, ModelSettings
from renderhouse.models.deployments import Deployment
from renderhouse.models.health import combined, rfc3339
from renderhouse.providers.base import ChatProvider
from renderhouse.providers.errors import ProviderError
from renderhouse.queue.clock import Clock, SystemClock

log = logging.getLogger(__name__)


class UnknownModel(NotFound):
    code = "model_not_found"


@dataclass
class Model:
    name: str
    settings: ModelSettings
    deployments: list[Deployment]
    fallbacks: list[str] = field(default_factory=list)

    @property
    def context_tokens(self) -> int:
        return min(d.settings.context_tokens for d in self.deployments)

    @property
    def max_output_tokens(self) -> int:
        return min(d.settings.max_output_tokens for d in self.deployments)


def offline_settings() -> ModelSettings | None:
    """The bundled model's entry, or None when its GGUF or runtime is not installed."""
    from importlib.util import find_spec

    from renderhouse.providers.llamacpp import bundled_model_path

    if bundled_model_path() is None or find_spec("xllamacpp") is None:
        return None
    return ModelSettings(
        deployments=[
            DeploymentSettings(
                provider="llamacpp",
                upstream="smollm2-135m-instruct",
                context_tokens=2048,
                max_output_tokens=512,
                timeout_seconds=120,
                label="offline",
            )
        ],
        description="SmolLM2-135M-Instruct, bundled, runs on this machine's CPU (free).",
    )


class ModelRegistry:
    def __init__(
        self,
        settings: LLMSettings,
        *,
        clock: Clock | None = None,
        providers: dict[str, ChatProvider] | None = None,
    ) -> None:
        """``providers`` replaces the client of deployment ids (``model#0``) in tests."""
        self.settings = settings
        self.clock = clock or SystemClock()
        self.models: dict[str, Model] = {}
        configured = dict(settings.models)
        if settings.offline_model and OFFLINE_MODEL not in configured:
            offline = offline_settings()
            if offline is not None:
                configured[OFFLINE_MODEL] = offline
        for name, cfg in configured.items():
            deployments = [
                Deployment.build(
                    name,
                    i,
                    d,
                    self.clock,
                    provider=(providers or {}).get(f"{name}#{i}"),
                    failures=settings.breaker_failures,
                    cooldown=settings.breaker_cooldown_seconds,
                    window=settings.health_window_seconds,
                    offline_threads=settings.offline_threads,
                    active_probe_seconds=cfg.active_probe_seconds,
                )
                for i, d in enumerate(cfg.deployments)
            ]
            fallbacks = [f for f in cfg.fallbacks if f in configured]
            self.models[name] = Model(name, cfg, deployments, fallbacks)

    @property
    def default_model(self) -> str | None:
        if self.settings.default_model:
            return self.settings.default_model
        return OFFLINE_MODEL if OFFLINE_MODEL in self.models else next(iter(self.models), None)

    def get(self, name: str) -> Model:
        try:
            return self.models[name]
        except KeyError:
            raise UnknownModel(
                f"unknown model {name!r}; GET /v1/models lists them",
                details={"model": name, "known": sorted(self.models)},
            ) from None

    def chain(self, name: str) -> list[Deployment]:
        """Where a request for ``name`` may go, in order: its deployments, then each
        fallback's (depth first, each model once)."""
        seen: set[str] = set()
        order: list[Deployment] = []

        def visit(model_name: str) -> None:
            if model_name in seen or model_name not in self.models:
                return
            seen.add(model_name)
            model = self.models[model_name]
            order.extend(model.deployments)
            for fallback in model.fallbacks:
                visit(fallback)

        self.get(name)
        visit(name)
        return order

    def describe(self, name: str) -> dict[str, Any]:
        model = self.get(name)
        deployments = [d.to_dict() for d in model.deployments]
        checks = [
            t
            for d in model.deployments
            for t in (d.health.last_check, d.health.active_at)
            if t is not None
        ]
        return {
            "name": name,
            "type": "llm",
            "description": model.settings.description,
            "status": combined([d["health"]["status"] for d in deployments]),
            "fallbacks": model.fallbacks,
            "context_tokens": model.context_tokens,
            "max_output_tokens": model.max_output_tokens,
            "last_check": rfc3339(max(checks)) if checks else None,
            "deployments": deployments,
        }

    @property
    def deployments(self) -> list[Deployment]:
        return [d for m in self.models.values() for d in m.deployments]

    async def probe(self) -> None:
        """Read every deployment's free model list once (zero paid tokens)."""
        targets = self.deployments
        await asyncio.gather(*(self._probe(d) for d in targets))

    async def _probe(self, deployment: Deployment) -> None:
        timeout = min(10.0, deployment.settings.timeout_seconds)
        try:
            ids = await deployment.provider.list_models(timeout=timeout)
        except ProviderError as exc:
            deployment.health.probed(False, exc.message)
            return
        except Exception as exc:  # a probe must never take the prober down
            log.warning("probe of %s failed: %r", deployment.id, exc)
            deployment.health.probed(False, f"internal error: {type(exc).__name__}")
            return
        upstream = deployment.settings.upstream
        if ids and upstream not in ids and f"models/{upstream}" not in ids:
            deployment.health.probed(False, f"the provider does not list {upstream!r}")
        else:
            deployment.health.probed(True)

    async def probe_forever(self) -> None:
        while True:
            await self.probe()
            await asyncio.sleep(self.settings.probe_seconds)

    async def aclose(self) -> None:
        for model in self.models.values():
            for d in model.deployments:
                await d.provider.aclose()
