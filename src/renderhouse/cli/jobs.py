"""``renderhouse jobs …``, ``renderhouse queue stats`` and ``renderhouse enqueue``."""

from __future__ import annotations

import json
import time

import click
from rich.console import Console
from rich.table import Column, Table

from renderhouse.cli import runtime
from renderhouse.cli.groups import HelpGroup, echo_json
from renderhouse.errors import InvalidInput
from renderhouse.queue.jobs import STATES, TERMINAL, Job
from renderhouse.timestamps import rfc3339

out = Console()
JOB_TIMES = (
    "created_at", "started_at", "attempted_at", "finished_at", "updated_at", "run_at",
    "lease_expires_at",
)  # fmt: skip


def _ts(t: float | None) -> str:
    return rfc3339(int(t)) if t else "-"


def _job_json(j: Job) -> dict[str, object]:
    row = j.to_dict()
    return {k: rfc3339(v) if k in JOB_TIMES and v else v for k, v in row.items()}


@click.group(cls=HelpGroup)
def jobs() -> None:
    """Inspect and control jobs."""


@jobs.command("list")
@click.option("--state", type=click.Choice(STATES), help="Only jobs in this state.")
@click.option("--kind", help="Only jobs of this kind.")
@click.option("--owner", help="Only jobs of this owner (a user id).")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True,
              help="At most this many jobs.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def list_cmd(
    ctx: click.Context,
    state: str | None,
    kind: str | None,
    owner: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Newest jobs first."""
    rt = runtime(ctx)
    rt.prepare_store()
    found = rt.queue.list_jobs(state=state, kind=kind, owner=owner, limit=limit)
    if as_json:
        echo_json([_job_json(j) for j in found])
        return
    # Ids are what the other commands take: never cut, whatever the terminal's width.
    table = Table(Column("id", no_wrap=True, min_width=32), "kind", "owner", "state",
                  "attempt", "progress", "created", "error")  # fmt: skip
    for j in found:
        table.add_row(
            j.id,
            j.kind,
            j.owner,
            j.state,
            f"{j.attempts_spent}/{j.max_attempts}",
            f"{1 if j.state == 'succeeded' else j.progress:.0%}",
            _ts(j.created_at),
            j.error_code or "",
        )
    out.print(table)


@jobs.command("show")
@click.argument("job_id")
@click.option("--json", "as_json", is_flag=True, help="Plain JSON (no colours), for scripts.")
@click.pass_context
def show(ctx: click.Context, job_id: str, as_json: bool) -> None:
    """The job JOB_ID with its attempts and artifacts."""
    rt = runtime(ctx)
    rt.prepare_store()
    j = rt.queue.get(job_id)
    body = {
        "job": _job_json(j),
        "attempts": rt.queue.attempts(job_id),
        "artifacts": rt.queue.artifacts(job_id),
    }
    if as_json:
        echo_json(body)
    else:
        out.print_json(json.dumps(body, default=str))


@jobs.command("cancel")
@click.argument("job_id")
@click.pass_context
def cancel(ctx: click.Context, job_id: str) -> None:
    """Cancel the queued job JOB_ID, or ask it to stop if it is running."""
    rt = runtime(ctx)
    rt.prepare_store()
    j = rt.queue.cancel(job_id)
    out.print(f"{j.id}: {j.state}{' (stop requested)' if j.state == 'running' else ''}")


@jobs.command("retry")
@click.argument("job_id")
@click.pass_context
def retry(ctx: click.Context, job_id: str) -> None:
    """Queue the failed or cancelled job JOB_ID again."""
    rt = runtime(ctx)
    rt.prepare_store()
    out.print(f"{rt.queue.retry(job_id).id}: queued")


@click.group(cls=HelpGroup)
def queue() -> None:
    """Queue-wide views."""


@queue.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def stats(ctx: click.Context, as_json: bool) -> None:
    """Jobs per kind and state, and the age of the oldest due job."""
    rt = runtime(ctx)
    rt.prepare_store()
    if as_json:
        echo_json(rt.queue.stats())
        return
    table = Table("kind", *STATES, "oldest queued (s)")
    for kind, row in sorted(rt.queue.stats().items()):
        table.add_row(
            kind, *(str(row.get(s, 0)) for s in STATES), f"{row['oldest_queued_age']:.1f}"
        )
    out.print(table)


@click.command()
@click.argument("kind")
@click.option("--input", "input_json", default="{}", help="Job input as JSON.")
@click.option("--priority", type=click.IntRange(0, 100), default=0, help="Higher runs first.")
@click.option("--owner", default="cli", show_default=True, help="Owner of the job (a user id).")
@click.option("--wait", is_flag=True, help="Wait until the job ends and print it.")
@click.pass_context
def enqueue(
    ctx: click.Context, kind: str, input_json: str, priority: int, owner: str, wait: bool
) -> None:
    """Put a job of KIND on the queue (its input validated against the kind's model)."""
    from renderhouse.queue.enqueue import NewJob  # the database stack: not for --help

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
