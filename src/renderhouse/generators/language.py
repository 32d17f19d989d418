"""Language-model calls from inside a generator (``ctx.llm``): one completion from a named
model of the deployment's model registry, with its fallbacks, retries and breakers, its
cost held against the job owner's credits and budgets before the call and settled on the
usage the provider reported, and a usage row per call (``GET /v1/usage`` shows it)::

    reply = ctx.llm.complete([{"role": "user", "content": "..."}], max_tokens=200)
    reply.text, reply.cost

A generator never sees providers, keys or prices: the platform behind ``ctx.llm`` does.
Where no model can answer (none configured, or run outside the platform without one)
``complete`` raises ``LanguageModelUnavailable``; a generator with a non-LLM way to do its
work (the render generator's rules planner) catches ``LanguageModelError`` and uses it.

``complete`` blocks, so call it from a generator that runs isolated (the default); an
inline generator (``async def run``) gets an error that says so rather than a stalled
worker.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from renderhouse.errors import JobFailed

__all__ = [
    "LanguageModelError",
    "LanguageModelUnavailable",
    "LanguageModels",
    "NoLanguageModels",
    "Reply",
    "Request",
    "installed_language_models",
]


class LanguageModelError(JobFailed):
    """The models could not answer (every deployment failed, timed out or refused); the
    ``code`` is the platform's (e.g. ``provider_unavailable``, ``provider_timeout``). A
    refusal of the request itself (unknown model, messages too long) is ``InvalidInput``."""

    code = "llm_failed"


class LanguageModelUnavailable(LanguageModelError):
    code = "llm_unavailable"


@dataclass(frozen=True)
class Reply:
    text: str
    model: str
    """The named model asked (a fallback's answer still names the model asked)."""
    deployment: str
    """Which deployment answered: ``<model>#<n>`` of the registry."""
    prompt_tokens: int
    completion_tokens: int
    cost: int
    """Credits charged for the call (0 where the model is free or unmetered)."""
    finish_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Request:
    """One ``complete`` call, as its implementations receive it."""

    messages: list[dict[str, Any]]
    model: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    json_schema: dict[str, Any] | None = None


class LanguageModels(ABC):
    """Implementations answer a ``Request``; generators call ``complete``."""

    def complete(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        model: str | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        json_schema: Mapping[str, Any] | None = None,
    ) -> Reply:
        """One completion of OpenAI-shaped ``messages`` (``role``, ``content``) by
        ``model`` (None: the deployment's default model). ``json_schema`` asks for JSON
        output in that shape where the provider supports it (OpenAI's ``response_format``);
        the caller still validates what comes back. The call is bounded by the job's
        deadline."""
        schema = dict(json_schema) if json_schema is not None else None
        request = Request([dict(m) for m in messages], model, max_tokens, temperature, schema)
        return self.answer(request)

    @abstractmethod
    def answer(self, request: Request) -> Reply: ...


class NoLanguageModels(LanguageModels):
    """No models behind this context; every call says how to get one."""

    def __init__(self, why: str = "no language model is configured for this run") -> None:
        self.why = why

    def answer(self, request: Request) -> Reply:
        raise LanguageModelUnavailable(self.why)


class _Discovered(LanguageModels):
    """The models an installed platform offers to a generator run on its own, found through
    the ``renderhouse.language_models`` entry point on the first call (so a run that never
    asks pays nothing), else ``NoLanguageModels``."""

    def __init__(self) -> None:
        self._models: LanguageModels | None = None

    def answer(self, request: Request) -> Reply:
        if self._models is None:
            from importlib.metadata import entry_points

            found = list(entry_points(group="renderhouse.language_models"))
            self._models = found[0].load()() if found else NoLanguageModels()
        return self._models.answer(request)


def installed_language_models() -> LanguageModels:
    return _Discovered()
