"""PDF → events: read the pages, decide the document-wide facts, then let each page's
layout pick its reader (a weekly grid, a roster, rows, or running text)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from renderhouse.generators.schedule import grid, pdfdoc, pdfium_pages, prose, roster, rows
from renderhouse.generators.schedule.errors import refuse
from renderhouse.generators.schedule.events import Event
from renderhouse.generators.schedule.layout import PageLayout
from renderhouse.generators.schedule.pdfdoc import Limits, open_checked
from renderhouse.generators.schedule.reading import Reading, read_document

Progress = Callable[[int, int, str], None]


@dataclass
class Extraction:
    events: list[Event]
    reading: Reading
    pages: list[PageLayout]
    families: list[str]
    """The reader each page was read with."""


def extract(
    path: Path,
    *,
    date_order: str | None = None,
    year: int | None = None,
    timezone: str | None = None,
    limits: Limits | None = None,
    progress: Progress | None = None,
    reader: str = "pdfium",
) -> Extraction:
    """``reader``: "pdfium" (fast, default) or "pdfplumber" (the reference)."""
    limits = limits or Limits()
    read_pages = pdfium_pages.read_pages if reader == "pdfium" else pdfdoc.read_pages
    total = open_checked(path, limits)
    pages: list[PageLayout] = []
    images = 0
    for layout, n_images in read_pages(path, limits):
        pages.append(layout)
        images += n_images
        if progress:
            progress(layout.number, total * 2, f"reading page {layout.number}/{total}")
    if not any(p.lines for p in pages):
        raise refuse(
            "pdf_no_text",
            "the PDF has no text layer" + (" (it is a scan: its pages are images)" if images
                                           else "") + "; OCR is not available here, so export "
            "the schedule as a PDF from the application that made it",
            images=images,
        )  # fmt: skip
    r = read_document(
        "\n".join(p.text for p in pages), date_order=date_order, year=year, timezone=timezone
    )
    events, families = read_events(pages, r, progress, total)
    if not events:
        raise refuse(
            "no_events_found",
            "no dated events were found in the PDF; if it is a schedule, set `year` or "
            "`date_order` if its dates omit them, or check the review of its layout",
            pages=total,
        )
    return Extraction(dedupe(events), r, pages, families)


def read_events(
    pages: list[PageLayout], r: Reading, progress: Progress | None = None, total: int = 0
) -> tuple[list[Event], list[str]]:
    events: list[Event] = []
    families: list[str] = []
    state = rows.TableState()
    for page in pages:
        found: list[Event] | None = grid.read_grid(page, r)
        family = "grid"
        if found is None:
            found, family = roster.read_roster(page, r), "roster"
        if found is None:
            found, family = prose.read_prose(page, r), "text"
        if found is None:
            found, family = rows.read_rows(page, r, state), "rows"
        events.extend(found)
        families.append(family)
        if progress:
            progress(total + page.number, total * 2, f"events on page {page.number}/{total}")
    return events, families


def dedupe(events: list[Event]) -> list[Event]:
    seen: set[tuple[object, ...]] = set()
    out = []
    for e in events:
        key = (e.title.casefold(), e.start, e.end, e.location, e.rrule)
        if key not in seen:
            seen.add(key)
            out.append(e)
    return out
