"""``renderhouse schedule FILE.pdf -o DIR``: extract a schedule in this process, no server."""

from __future__ import annotations

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
    from renderhouse.errors import RenderhouseError
    from renderhouse.generators.command_console import CommandConsole
    from renderhouse.generators.schedule import ScheduleGenerator, ScheduleInput
    from renderhouse.generators.schedule.job import run_schedule

    term = CommandConsole("schedule", quiet=quiet)
    if not pdf.is_file():
        term.fail(f"{pdf} is not a file")
    data = {k: v for k, v in options.items() if v is not None}
    try:
        inp = ScheduleGenerator().parse_input({"pdf": str(pdf), **data})
    except RenderhouseError as exc:
        term.option_error(exc, "schedule")
    assert isinstance(inp, ScheduleInput)
    out = out_dir or Path(f"{pdf.stem}_schedule")
    t0 = time.perf_counter()
    result = term.run(out, lambda ctx: run_schedule(ctx, inp))
    elapsed = time.perf_counter() - t0
    term.say(
        f"[bold green]done[/] {len(result['events'])} events from {result['pages']} pages in "
        f"{elapsed:.2f} s ({result['low_confidence']} to check) → {out}"
    )
    term.say("outputs: " + ", ".join(result["artifacts"]))
