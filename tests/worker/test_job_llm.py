"""``ctx.llm`` through real workers (as ``renderhouse worker`` builds them): a ``chat`` job
in a pool child asks its parent, which routes through the model registry (a dead first
deployment, then a live one), charges the job's owner exactly what the usage cost, and
records a usage row that names the job; the caller's mistakes end the job at once, with
nothing charged. On both databases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from renderhouse import accounts, ledger
from renderhouse.ledger.reconcile import reconcile
from renderhouse.models.config import LLMSettings
from renderhouse.models.usage import model_usage
from renderhouse.queue.enqueue import NewJob
from renderhouse.queue.jobs import TERMINAL, Job
from renderhouse.runtime import Runtime
from renderhouse.settings import Settings
from tests.integration.running import running, wait_until

DEAD = "http://127.0.0.1:9/v1"  # the discard port: nothing listens, the connection is refused
PROMPT = "four words of prompt"


def llm_settings(**extra: Any) -> LLMSettings:
    dead = {"provider": "openai", "base_url": DEAD, "upstream": "gone", "timeout_seconds": 2}
    live = {"provider": "fake", "upstream": "fake-model", "price_in": 1000, "price_out": 1000}
    return LLMSettings.model_validate(
        {
            "models": {"echo": {"deployments": [dead, live], "retries": 0}},
            "default_model": "echo",
            "offline_model": False,
            **extra,
        }
    )


def runtime(db_url: str, tmp_path: Path, llm: LLMSettings) -> Runtime:
    return Runtime(
        Settings(database_url=db_url, data_dir=tmp_path / "data", poll_seconds=0.1, llm=llm)
    )


def run_jobs(rt: Runtime, *jobs: NewJob) -> list[Job]:
    ids = [rt.queue.enqueue(nj)[0].id for nj in jobs]
    with running(rt.worker(["chat"], 2, maintenance=False)):
        wait_until(
            lambda: all(rt.queue.get(i).state in TERMINAL for i in ids),
            timeout=60,
            what="the jobs to end",
        )
    return [rt.queue.get(i) for i in ids]


def test_a_job_asks_the_registry_and_pays_for_what_it_used(db_url: str, tmp_path: Path) -> None:
    rt = runtime(db_url, tmp_path, llm_settings())
    try:
        with rt.store.begin() as conn:
            alice = accounts.create_user(conn, "alice").id
            ledger.accounts.grant(conn, alice, 1_000, "test")
        (job,) = run_jobs(rt, NewJob("chat", {"prompt": PROMPT, "max_tokens": 20}, owner=alice))
        assert job.state == "succeeded", job.error_message
        assert job.result["text"] == f"echo: {PROMPT}"
        assert job.result["model"] == "echo"
        with rt.store.read() as conn:
            rows = conn.execute(select(model_usage)).mappings().all()
            left = ledger.accounts.balance(conn, alice)
            report = reconcile(conn)
        assert len(rows) == 1
        row = rows[0]
        assert (row["source"], row["job_id"], row["owner"]) == ("job:chat", job.id, alice)
        assert row["ok"] and row["deployment"] == "echo#1"  # the dead one was skipped
        used = row["prompt_tokens"] + row["completion_tokens"]
        assert row["cost"] == job.result["cost"] == used > 0  # one credit per token
        assert 0 < row["cost"] < row["reserved"]  # held the maximum, charged the usage
        assert (left.available, left.held) == (1_000 - used, 0)
        assert report.ok, report.problems
    finally:
        rt.close()


def test_the_callers_mistakes_end_the_job_at_once_and_cost_nothing(
    db_url: str, tmp_path: Path
) -> None:
    rt = runtime(db_url, tmp_path, llm_settings())
    try:
        with rt.store.begin() as conn:
            bob = accounts.create_user(conn, "bob").id  # no credits
            carol = accounts.create_user(conn, "carol").id
            ledger.accounts.grant(conn, carol, 1_000, "test")
        unknown, broke = run_jobs(
            rt,
            NewJob("chat", {"prompt": PROMPT, "model": "nope"}, owner=carol, max_attempts=3),
            NewJob("chat", {"prompt": PROMPT}, owner=bob, max_attempts=3),
        )
        assert (unknown.state, unknown.error_code, unknown.attempt) == (
            "failed",
            "model_not_found",
            1,
        )
        assert "unknown model 'nope'" in (unknown.error_message or "")
        assert (broke.state, broke.error_code, broke.attempt) == (
            "failed",
            "insufficient_credits",
            1,
        )
        with rt.store.read() as conn:
            assert ledger.accounts.balance(conn, carol).available == 1_000
            assert conn.execute(select(model_usage)).first() is None
            assert reconcile(conn).ok
    finally:
        rt.close()


def test_no_model_says_how_to_get_one(tmp_path: Path) -> None:
    rt = runtime(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path, LLMSettings(offline_model=False))
    try:
        rt.prepare_store(create_if_empty=True)
        (job,) = run_jobs(rt, NewJob("chat", {"prompt": PROMPT}, owner="dave", max_attempts=1))
        assert (job.state, job.error_code) == ("failed", "llm_unavailable")
        assert "[llm] models" in (job.error_message or "")
    finally:
        rt.close()
