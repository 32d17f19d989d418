"""Events written in running text, in one or more columns (newsletters, notices).

A page is prose when most of its lines are long single runs of words. Its text is cut into
columns (by where lines start) and paragraphs (by vertical gaps), and each paragraph is
read as one row, so a date on one line and its time on the next stay together."""

from __future__ import annotations

from statistics import median

from renderhouse.generators.schedule import rows
from renderhouse.generators.schedule.events import Event
from renderhouse.generators.schedule.layout import Cell, Line, PageLayout
from renderhouse.generators.schedule.reading import Reading


def is_prose(page: PageLayout) -> bool:
    cells = [c for ln in page.lines for c in ln.cells]
    if len(cells) < 6:
        return False
    long = sum(len(c.text) for c in cells if len(c.text) >= 35 and len(c.text.split()) >= 5)
    return long >= 0.6 * sum(len(c.text) for c in cells)


def paragraphs(page: PageLayout) -> list[Cell]:
    columns: list[list[Cell]] = []
    for cell in sorted((c for ln in page.lines for c in ln.cells), key=lambda c: c.x0):
        for col in columns:
            if abs(col[0].x0 - cell.x0) < 12:
                col.append(cell)
                break
        else:
            columns.append([cell])
    out = []
    for col in columns:
        col.sort(key=lambda c: c.top)
        height = median(c.bottom - c.top for c in col)
        para: list[Cell] = []
        for cell in col:
            # a line step is ~1.2-1.4 text heights; a paragraph break adds a blank
            if para and cell.top - para[-1].top > 1.65 * height:
                out.append(_merge(para))
                para = []
            para.append(cell)
        if para:
            out.append(_merge(para))
    return out


def _merge(cells: list[Cell]) -> Cell:
    return Cell(
        " ".join(c.text for c in cells), min(c.x0 for c in cells), cells[0].top,
        max(c.x1 for c in cells), cells[-1].bottom,
    )  # fmt: skip


def read_prose(page: PageLayout, r: Reading) -> list[Event] | None:
    if not is_prose(page):
        return None
    # each paragraph is one row; no wrapped-title joining or date carried between rows,
    # since neighbouring paragraphs are separate items
    state = rows.TableState(running_text=True)
    lines = [Line([para]) for para in paragraphs(page)]
    events = rows.read_rows(PageLayout(page.number, page.width, page.height, lines), r, state)
    for ev in events:
        ev.lower(0.95, "read from running text")
    return events
