"""``renderhouse jobs …``, ``renderhouse queue stats`` and ``renderhouse enqueue``."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import click
from rich.console import Console
from rich.table import Table

from renderhouse.cli import runtime
from renderhouse.errors import InvalidInput
from renderhouse.queue.enqueue import NewJob
from renderhouse.queue.jobs import STATES, TERMINAL, Job

out = Console()


def _ts(t: float | None) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S") if t else "-"


@click.group()
def jobs() -> None:
    """Inspect and control jobs."""


@jobs.command("list")
@click.option("--state", type=click.Choice(STATES))
@click.option("--kind")
@click.option("--owner")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.pass_context
def list_cmd(
    ctx: click.Context, state: str | None, kind: str | None, owner: str | None, limit: int
) -> None:
    """Newest jobs first."""
    rt = runtime(ctx)
    rt.prepare_store()
    table = Table("id", "kind", "owner", "state", "attempt", "progress", "created", "error")
    for j in rt.queue.list_jobs(state=state, kind=kind, owner=owner, limit=limit):
        table.add_row(
            j.id,
            j.kind,
            j.owner,
            j.state,
            f"{j.attempts_spent}/{j.max_attempts}",
            f"{j.progress:.0%}",
            _ts(j.created_at),
            j.error_code or "",
        )
    out.print(table)


@jobs.command("show")
@click.argument("job_id")
@click.pass_context
def show(ctx: click.Context, job_id: str) -> None:
    """A job with its attempts and artifacts."""
    rt = runtime(ctx)
    rt.prepare_store()
    j = rt.queue.get(job_id)
    out.print_json(
        json.dumps(
            {
                "job": j.to_dict(),
                "attempts": rt.queue.attempts(job_id),
                "artifacts": rt.queue.artifacts(job_id),
            },
            default=str,
        )
    )


@jobs.command("cancel")
@click.argument("job_id")
@click.pass_context
def cancel(ctx: click.Context, job_id: str) -> None:
    """Cancel a queued job, or ask a running one to stop."""
    rt = runtime(ctx)
    rt.prepare_store()
    j = rt.queue.cancel(job_id)
    out.print(f"{j.id}: {j.state}{' (stop requested)' if j.state == 'running' else ''}")


@jobs.command("retry")
@click.argument("job_id")
@click.pass_context
def retry(ctx: click.Context, job_id: str) -> None:
    """Queue a failed or cancelled job again."""
    rt = runtime(ctx)
    rt.prepare_store()
    out.print(f"{rt.queue.retry(job_id).id}: queued")


@click.group()
def queue() -> None:
    """Queue-wide views."""


@queue.command("stats")
@click.pass_context
def stats(ctx: click.Context) -> None:
    """Jobs per kind and state, and the age of the oldest due job."""
    rt = runtime(ctx)
    rt.prepare_store()
    table = Table("kind", *STATES, "oldest queued (s)")
    for kind, row in sorted(rt.queue.stats().items()):
        table.add_row(
            kind, *(str(row.get(s, 0)) for s in STATES), f"{row['oldest_queued_age']:.1f}"
        )
    out.print(table)


@click.command()
@click.argument("kind")
@click.option("--input", "input_json", default="{}", help="Job input as JSON.")
@click.option("--priority", type=click.IntRange(0, 100), default=0)
@click.option("--owner", default="cli")
@click.option("--wait", is_flag=True, help="Wait until the job ends and print it.")
@click.pass_context
def enqueue(
    ctx: click.Context, kind: str, input_json: str, priority: int, owner: str, wait: bool
) -> None:
    """Put a job on the queue (validated against the generator's input model)."""
    rt = runtime(ctx)
    rt.prepare_store()
    try:
        data = json.loads(input_json)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"--input is not valid JSON: {exc}") from exc
    gen = rt.registry.get(kind)
    parsed = gen.parse_input(data)
    job, _ = rt.queue.enqueue(
        NewJob(
            kind,
            parsed.model_dump(mode="json"),
            owner=owner,
            priority=priority,
            max_attempts=rt.settings.retry_attempts,
            timeout=min(gen.default_timeout, rt.settings.job_timeout),
            cost_estimated=gen.estimate_cost(parsed),
        )
    )
    out.print(f"enqueued {job.kind} job {job.id}")
    if wait:
        while (job := rt.queue.get(job.id)).state not in TERMINAL:
            time.sleep(0.1)
        _print_final(job)


def _print_final(job: Job) -> None:
    colour = "green" if job.state == "succeeded" else "red"
    result = json.dumps(job.result)
    out.print(f"[{colour}]{job.state}[/] {job.id} result={result} error={job.error_code or '-'}")
