"""Small pure pieces of the core: settings, retry policy, breaker, registry, scheduler."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from renderhouse.errors import DuplicateKind, InvalidInput, SettingsError, UnknownKind
from renderhouse.generators.base import Generator, Registry
from renderhouse.generators.noop import NoopGenerator
from renderhouse.queue.clock import FakeClock
from renderhouse.queue.retry import RetryPolicy
from renderhouse.queue.scheduler import wait_seconds
from renderhouse.settings import load_settings
from renderhouse.worker.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker


def test_settings_precedence_flags_over_env_over_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = tmp_path / "rh.toml"
    file.write_text('job_timeout = 30\nretry_attempts = 7\nlog_level = "DEBUG"\n')
    monkeypatch.setenv("RENDERHOUSE_RETRY_ATTEMPTS", "5")
    s = load_settings(file, log_level="ERROR")
    assert (s.job_timeout, s.retry_attempts, s.log_level) == (30, 5, "ERROR")
    assert s.resolved_database_url.startswith("sqlite:///")


def test_settings_errors_say_what_to_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RENDERHOUSE_MAX_CONCURRENT_JOBS", "0")
    with pytest.raises(SettingsError, match="max_concurrent_jobs"):
        load_settings()
    monkeypatch.delenv("RENDERHOUSE_MAX_CONCURRENT_JOBS")
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("job_timeout = [")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(bad)


def test_production_refuses_default_secret_and_open_cors(tmp_path: Path) -> None:
    # A data directory of its own: one that holds a generated secret_key would supply it.
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        load_settings(mode="production", data_dir=tmp_path)
    with pytest.raises(SettingsError, match="CORS"):
        load_settings(mode="production", secret_key="x" * 40, cors_origins=["*"])
    assert load_settings(mode="production", secret_key="x" * 40).mode == "production"


def test_retry_policy_backs_off_exponentially_with_bounded_jitter() -> None:
    exact = RetryPolicy(base=2, factor=3, max_delay=100, jitter=0)
    assert [exact.delay(n) for n in (1, 2, 3, 4, 5)] == [2, 6, 18, 54, 100]
    jittery = RetryPolicy(base=10, factor=2, jitter=0.25, rng=random.Random(1))
    delays = [jittery.delay(3) for _ in range(200)]
    assert all(30 <= d <= 50 for d in delays) and len(set(delays)) > 100


def test_breaker_opens_probes_and_closes() -> None:
    clock = FakeClock()
    b = CircuitBreaker("k", clock, threshold=2, cooldown=10)
    assert b.allow() == -1
    assert not b.on_failure() and b.state == CLOSED
    assert b.on_failure() and b.state == OPEN
    assert b.allow() == 0
    clock.advance(10)
    assert b.allow() == 1 and b.state == HALF_OPEN
    b.on_claimed()
    assert b.allow() == 0, "only one probe at a time"
    assert b.on_failure() and b.state == OPEN, "a failed probe reopens"
    clock.advance(10)
    assert b.allow() == 1
    b.on_claimed()
    assert b.on_success() and b.state == CLOSED and b.allow() == -1


def test_a_success_resets_the_consecutive_count() -> None:
    b = CircuitBreaker("k", FakeClock(), threshold=2)
    b.on_failure()
    b.on_success()
    b.on_failure()
    assert b.state == CLOSED


class _In(BaseModel):
    n: int


class _Other(Generator):
    kind = "noop"
    Input = _In

    def run(self, ctx: Any, input: Any) -> None:
        return None


def test_registry_refuses_a_duplicate_kind_by_name() -> None:
    with pytest.raises(DuplicateKind, match="'noop' is registered twice"):
        Registry([NoopGenerator, _Other])


def test_registry_unknown_kind_and_input_validation() -> None:
    reg = Registry([_Other])
    with pytest.raises(UnknownKind, match="known kinds: noop"):
        reg.get("nope")
    with pytest.raises(InvalidInput) as err:
        reg.get("noop").parse_input({"n": "many"})
    assert err.value.details["errors"][0]["field"] == "n"


def test_builtin_generators_come_from_entry_points() -> None:
    kinds = Registry.from_entry_points().kinds()
    assert {"noop", "turntable"} <= set(kinds)


def test_scheduler_wait() -> None:
    assert wait_seconds(None, 100, 5) == 5
    assert wait_seconds(102, 100, 5) == 2
    assert wait_seconds(90, 100, 5) == 0
