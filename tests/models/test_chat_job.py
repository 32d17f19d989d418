"""The ``chat`` job kind and ``renderhouse chat``: the bundled model answers real prompts;
bad input is refused with a code and a sentence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from renderhouse.errors import InvalidInput
from renderhouse.generators.chat import ChatGenerator
from renderhouse.generators.chat.cli import chat
from renderhouse.generators.local_context import LocalContext
from renderhouse.providers.llamacpp import LlamaCppProvider

CAPITAL = "What is the capital of France? Answer in one word."


def test_job_writes_the_completion(offline_model: LlamaCppProvider, tmp_path: Path) -> None:
    """Run on its own, the job asks the installed platform's registry (the bundled model)."""
    gen = ChatGenerator()
    inp = gen.parse_input({"prompt": CAPITAL, "max_tokens": 12, "temperature": 0})
    result = gen.run(LocalContext(tmp_path), inp)
    assert "paris" in result["text"].lower()
    assert result["model"] == "smollm2"
    saved = json.loads((tmp_path / "completion.json").read_text())
    assert saved["message"]["content"] == result["text"]
    assert saved["deployment"].startswith("smollm2")
    assert 0 < saved["usage"]["completion_tokens"] <= 12


def test_job_input_is_checked() -> None:
    gen = ChatGenerator()
    for bad in (
        {},
        {"prompt": "x", "model": "no spaces allowed"},
        {"prompt": "x", "max_tokens": 0},
    ):
        with pytest.raises(InvalidInput):
            gen.parse_input(bad)
    assert gen.estimate_cost(gen.parse_input({"prompt": "x"})) == 0


def test_cli_answers_with_the_bundled_model(offline_model: LlamaCppProvider) -> None:
    result = CliRunner().invoke(
        chat, [CAPITAL, "--max-tokens", "8", "--temperature", "0", "--stats"]
    )
    assert result.exit_code == 0, result.output
    assert "paris" in result.stdout.lower()
    assert "tokens/s" in result.stderr


def test_cli_refuses_a_model_it_cannot_run(tmp_path: Path) -> None:
    result = CliRunner().invoke(chat, ["hi", "--model", str(tmp_path / "nope.bin")])
    assert result.exit_code == 2
    assert "neither smollm2 nor an existing .gguf file" in result.stderr
