"""``renderhouse check`` reaches every deployment through its free model list."""

from __future__ import annotations

import pytest

from renderhouse.models.config import LLMSettings
from renderhouse.models.reachability import checks


def test_each_deployment_is_reached_without_spending(openai_server) -> None:
    fake, base = openai_server
    settings = LLMSettings.model_validate(
        {
            "offline_model": False,
            "models": {
                "good": {
                    "deployments": [
                        {"provider": "openai", "base_url": base, "upstream": "gpt-fake"}
                    ]
                },
                "renamed": {
                    "deployments": [{"provider": "openai", "base_url": base, "upstream": "gpt-9"}]
                },
                "gone": {
                    "deployments": [
                        {"provider": "openai", "base_url": "http://127.0.0.1:9/v1", "upstream": "x"}
                    ]
                },
            },
        }
    )
    results = dict(checks(settings))
    assert results["llm good#0"]() == "openai serves gpt-fake"
    with pytest.raises(RuntimeError, match="does not list 'gpt-9'"):
        results["llm renamed#0"]()
    with pytest.raises(RuntimeError, match="could not be reached"):
        results["llm gone#0"]()
    assert fake.requests == [] and fake.model_list_calls == 2
