"""``renderhouse check`` for LLM deployments: each one's free model list read once (zero
tokens), as named checks that raise when a deployment cannot be reached or does not serve
its upstream model."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from renderhouse.models.config import LLMSettings
from renderhouse.models.registry import ModelRegistry


def checks(settings: LLMSettings) -> list[tuple[str, Callable[[], str]]]:
    registry = ModelRegistry(settings)

    async def probe() -> None:
        try:
            await registry.probe()
        finally:
            await registry.aclose()

    asyncio.run(probe())
    found: list[tuple[str, Callable[[], str]]] = []
    for model in registry.models.values():
        for d in model.deployments:
            found.append(
                (
                    f"llm {d.id}",
                    _result(
                        d.settings.provider,
                        d.settings.upstream,
                        d.health.last_check_ok,
                        d.health.last_check_error,
                    ),
                )
            )
    if not found:
        found.append(("llm", lambda: "no models configured (and the offline model is missing)"))
    return found


def _result(provider: str, upstream: str, ok: bool | None, error: str | None) -> Callable[[], str]:
    def check() -> str:
        if not ok:
            raise RuntimeError(f"{provider} {upstream}: {error or 'no answer'}")
        return f"{provider} serves {upstream}"

    return check
