"""``renderhouse schedule FILE.pdf -o DIR``: extract a schedule in this process, no server."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click


@click.command()
@click.argument("pdf", type=click.Path(path_type=Path))
@click.option("-o", "--out", "out_dir", type=click.Path(path_type=Path), default=None,
              help="output directory [default: ./<pdf>_schedule]")  # fmt: skip
@click.option("--timezone", default=None, help="IANA zone for times the PDF gives none")
@click.option("--date-order", type=click.Choice(["DMY", "MDY", "YMD"]), default=None)
@click.option("--year", type=int, default=None, help="year for dates that omit it")
@click.option("--locale", type=click.Choice(["en", "de", "fr", "es"]), default=None)
@click.option("--calendar-name", default=None)
@click.option("--quiet", "-q", is_flag=True, help="no progress bar")
def schedule(pdf: Path, out_dir: Path | None, quiet: bool, **options: object) -> None:
    """Extract the events of a schedule PDF into events.json, calendar.ics and review.html."""
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from renderhouse.errors import RenderhouseError
    from renderhouse.generators.local_context import LocalContext
    from renderhouse.generators.schedule import ScheduleGenerator, ScheduleInput
    from renderhouse.generators.schedule.job import run_schedule

    console = Console(stderr=True, soft_wrap=True)

    def fail(message: str) -> None:
        console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
        sys.exit(2)

    if not pdf.is_file():
        fail(f"{pdf} is not a file")
    data = {k: v for k, v in options.items() if v is not None}
    try:
        inp = ScheduleGenerator().parse_input({"pdf": str(pdf), **data})
    except RenderhouseError as exc:
        fail(exc.message.replace("invalid input for schedule: ", "option "))
    assert isinstance(inp, ScheduleInput)
    out = out_dir or Path(f"{pdf.stem}_schedule")
    bar = Progress(
        "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=console, disable=quiet, transient=True,
    )  # fmt: skip
    task = bar.add_task("schedule", total=None)

    def on_progress(done: float, total: float, message: str) -> None:
        bar.update(task, completed=done, total=total, description=message or "schedule")

    t0 = time.perf_counter()
    try:
        with bar:
            result = run_schedule(LocalContext(out, on_progress=on_progress), inp)
    except RenderhouseError as exc:
        fail(f"{exc.message} [{exc.code}]")
    except KeyboardInterrupt:
        fail("interrupted")
    elapsed = time.perf_counter() - t0
    console.print(
        f"[bold green]done[/] {len(result['events'])} events from {result['pages']} pages in "
        f"{elapsed:.2f} s ({result['low_confidence']} to check) → {out}",
        highlight=False,
    )
    console.print("outputs: " + ", ".join(result["artifacts"]), highlight=False)
