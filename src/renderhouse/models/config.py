"""The LLM part of the settings (``[llm]`` in the settings file, ``RENDERHOUSE_LLM`` as JSON
in the environment): named models, each a list of deployments (provider + upstream model +
prices + limits) tried in order, then its fallbacks (other named models). Validated once at
start-up with the rest of the settings; ``renderhouse check`` then reaches each provider
through its free model list."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

OFFLINE_MODEL = "smollm2"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$")


class DeploymentSettings(BaseModel):
    """One place a model runs. Prices are credits per 1,000 tokens."""

    model_config = ConfigDict(extra="forbid")

    provider: Literal["openai", "gemini", "llamacpp", "fake"]
    upstream: str = Field(min_length=1, max_length=200, description="The provider's model id.")
    base_url: str | None = Field(
        default=None, description="e.g. https://api.openai.com/v1 or http://127.0.0.1:11434/v1"
    )
    api_key: SecretStr | None = None
    price_in: float = Field(default=0.0, ge=0, description="credits per 1k prompt tokens")
    price_out: float = Field(default=0.0, ge=0, description="credits per 1k completion tokens")
    context_tokens: int = Field(default=8192, ge=16, le=10_000_000)
    max_output_tokens: int = Field(default=1024, ge=1, le=1_000_000)
    timeout_seconds: float = Field(default=60.0, gt=0, le=3600)
    label: str | None = Field(
        default=None, description="Budget key provider:<label>; default: the provider name."
    )
    active_probe_seconds: float | None = Field(
        default=None,
        ge=10,
        description="Opt-in paid health probe: a max_tokens=1 completion this often, at most "
        "one per cluster per interval (a lease in the database); its tokens are recorded as "
        "usage of source 'probe' and charged to nobody. Default: off (the model's setting).",
    )

    @model_validator(mode="after")
    def _needs_url(self) -> DeploymentSettings:
        if self.provider in ("openai",) and not self.base_url:
            raise ValueError("an openai deployment needs base_url (e.g. https://api.openai.com/v1)")
        schemes = ("file://",) if self.provider == "llamacpp" else ("http://", "https://")
        if self.base_url and not self.base_url.startswith(schemes):
            raise ValueError(f"base_url {self.base_url!r} must start with {' or '.join(schemes)}")
        return self

    @property
    def account(self) -> str:
        return self.label or self.provider


class ModelSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    deployments: list[DeploymentSettings] = Field(min_length=1)
    fallbacks: list[str] = Field(
        default_factory=list, description="Other models to try, in order, when these fail."
    )
    retries: int = Field(default=1, ge=0, le=5, description="Extra tries per deployment.")
    description: str = ""
    active_probe_seconds: float | None = Field(
        default=None,
        ge=10,
        description="The active probe's interval for each deployment that sets none; "
        "default off (health then costs zero tokens).",
    )


class LLMSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    models: dict[str, ModelSettings] = Field(default_factory=dict)
    offline_model: bool = Field(
        default=True, description=f"Serve the bundled model as {OFFLINE_MODEL!r} when installed."
    )
    offline_threads: int = Field(default=2, ge=1, le=256)
    default_model: str | None = None
    deadline_seconds: float = Field(
        default=120.0, gt=0, le=3600, description="A request's whole budget, retries included."
    )
    probe_seconds: float = Field(
        default=60.0, gt=0, description="How often each deployment's free model list is read."
    )
    health_window_seconds: float = Field(default=300.0, gt=0)
    breaker_failures: int = Field(default=3, ge=1)
    breaker_cooldown_seconds: float = Field(default=30.0, gt=0)
    max_messages_bytes: int = Field(default=1 << 20, ge=1024)
    user_tokens_per_minute: int | None = Field(default=None, ge=1, description="per user")
    key_tokens_per_minute: int | None = Field(default=None, ge=1, description="per API key")
    key_requests_per_minute: int | None = Field(default=None, ge=1, description="per API key")

    @model_validator(mode="after")
    def _names(self) -> LLMSettings:
        known = set(self.models) | ({OFFLINE_MODEL} if self.offline_model else set())
        for name, model in self.models.items():
            if not NAME.match(name):
                raise ValueError(f"model name {name!r}: use letters, digits and _.:/-")
            for fallback in model.fallbacks:
                if fallback not in known:
                    raise ValueError(f"model {name!r} falls back to unknown model {fallback!r}")
                if fallback == name:
                    raise ValueError(f"model {name!r} falls back to itself")
        if self.default_model is not None and self.default_model not in known:
            raise ValueError(f"default_model {self.default_model!r} is not a configured model")
        return self
