"""One schedule job: extract, then write events.json, calendar.ics and review.html."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from renderhouse.generators.context import Context
from renderhouse.generators.schedule.events import LOW_CONFIDENCE, document
from renderhouse.generators.schedule.extract import extract
from renderhouse.generators.schedule.ics import calendar
from renderhouse.generators.schedule.options import ScheduleInput
from renderhouse.generators.schedule.pdfdoc import Limits
from renderhouse.generators.schedule.review import render


def run_schedule(ctx: Context, inp: ScheduleInput) -> dict[str, Any]:
    path = Path(inp.pdf)
    name = path.name
    started = time.perf_counter()

    def progress(done: int, total: int, message: str) -> None:
        ctx.raise_if_cancelled()
        ctx.progress(done, total + 1, message)

    x = extract(
        path, date_order=inp.date_order, year=inp.year, timezone=inp.timezone,
        limits=Limits(page_seconds=inp.page_seconds), progress=progress,
    )  # fmt: skip
    doc = document(name, x.reading.timezone, x.reading.date_order, x.events)
    ctx.artifacts.put_bytes(
        "events.json", json.dumps(doc, ensure_ascii=False, indent=1).encode(), "application/json"
    )
    ics = calendar(x.events, document=name, name=inp.calendar_name, now=datetime.now(UTC))
    ctx.artifacts.put_bytes("calendar.ics", ics, "text/calendar")
    ctx.artifacts.put_bytes(
        "review.html", render(path, name, x.events, len(x.pages)).encode(), "text/html"
    )
    pages = len(x.pages)
    ctx.progress(1, 1, f"{len(x.events)} events from {pages} pages")
    seconds = time.perf_counter() - started
    # turned into /metrics series by the worker (renderhouse_job_pages, _events, ...)
    reported = {
        "pages": pages, "seconds": round(seconds, 3), "events": len(x.events),
        "confidence": [round(e.confidence, 3) for e in x.events],
    }  # fmt: skip
    return {
        **doc,
        "pages": pages,
        "low_confidence": sum(e.confidence < LOW_CONFIDENCE for e in x.events),
        "readers": x.families,
        "seconds": round(seconds, 3),
        "artifacts": ["events.json", "calendar.ics", "review.html"],
        "metrics": reported,
    }
