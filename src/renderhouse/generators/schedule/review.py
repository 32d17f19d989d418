"""``review.html``: each page as an image with every event's source box outlined and the
events listed beside it with their confidence, low ones flagged, so a person can check the
extraction in a minute. Self-contained (images inlined), no script."""

from __future__ import annotations

import base64
import html
import io
from datetime import date, datetime
from pathlib import Path

from renderhouse.generators.schedule.events import LOW_CONFIDENCE, Event

SCALE = 1.5
_STYLE = """
body{font:14px system-ui,sans-serif;margin:0;background:#f4f4f4;color:#222}
header{padding:12px 20px;background:#222;color:#fff}
section{display:flex;gap:16px;padding:16px 20px;align-items:flex-start}
.page{position:relative;flex:none;box-shadow:0 1px 4px #0003;background:#fff}
.page img{display:block}.page svg{position:absolute;left:0;top:0}
rect.ok{fill:#2a7de11a;stroke:#2a7de1;stroke-width:2}
rect.low{fill:#e1552a22;stroke:#e1552a;stroke-width:2.5;stroke-dasharray:6 3}
table{border-collapse:collapse;background:#fff;font-size:13px}
td,th{padding:3px 8px;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
tr.low{background:#fde9e2}.n{color:#888}
"""


def page_images(pdf: Path, pages: int) -> list[tuple[bytes, int, int]]:
    import pypdfium2 as pdfium

    out = []
    doc = pdfium.PdfDocument(pdf)
    try:
        for i in range(min(pages, len(doc))):
            # grey pages under coloured boxes: a third of the encoding time of RGB, and the
            # boxes stand out better; PNG keeps text sharp where JPEG blurs it
            image = doc[i].render(scale=SCALE, grayscale=True).to_pil().convert("L")
            buf = io.BytesIO()
            image.save(buf, "PNG", compress_level=1)
            out.append((buf.getvalue(), image.width, image.height))
    finally:
        doc.close()
    return out


def render(pdf: Path, document: str, events: list[Event], pages: int) -> str:
    parts = [
        "<!doctype html><meta charset=utf-8><title>Review: ",
        html.escape(document),
        f"</title><style>{_STYLE}</style><header><b>{html.escape(document)}</b> — ",
        f"{len(events)} events, {sum(e.confidence < LOW_CONFIDENCE for e in events)} to check "
        "(dashed red)</header>",
    ]
    numbered = list(enumerate(events, start=1))
    for page_no, (png, w, h) in enumerate(page_images(pdf, pages), start=1):
        mine = [(n, e) for n, e in numbered if e.page == page_no]
        boxes = "".join(
            f'<rect class="{_cls(e)}" x="{e.bbox[0] * SCALE - 2:.0f}" '
            f'y="{e.bbox[1] * SCALE - 2:.0f}" width="{(e.bbox[2] - e.bbox[0]) * SCALE + 4:.0f}" '
            f'height="{(e.bbox[3] - e.bbox[1]) * SCALE + 4:.0f}"><title>#{n} '
            f"{html.escape(e.title)}</title></rect>"
            for n, e in mine
        )
        rows = "".join(
            f'<tr class="{_cls(e)}"><td class=n>{n}</td><td>{html.escape(e.title)}</td>'
            f"<td>{_when(e)}</td><td>{html.escape(e.location or '')}</td>"
            f"<td>{e.confidence:.2f}{_why(e)}</td></tr>"
            for n, e in mine
        )
        src = base64.b64encode(png).decode()
        parts.append(
            f'<section><div class=page style="width:{w}px;height:{h}px">'
            f'<img src="data:image/png;base64,{src}" width={w} height={h} alt="page {page_no}">'
            f'<svg width="{w}" height="{h}">{boxes}</svg></div>'
            f"<table><tr><th>#</th><th>title</th><th>when</th><th>where</th>"
            f"<th>confidence</th></tr>{rows}</table></section>"
        )
    return "".join(parts)


def _cls(e: Event) -> str:
    return "low" if e.confidence < LOW_CONFIDENCE else "ok"


def _when(e: Event) -> str:
    text = _stamp(e.start)
    if e.end is not None:
        text += " → " + _stamp(e.end)
    if e.timezone:
        text += f" ({e.timezone})"
    if e.rrule:
        text += f"<br><small>{html.escape(e.rrule)}"
        if e.exdate:
            text += " except " + ", ".join(d.date().isoformat() for d in e.exdate)
        text += "</small>"
    return text


def _stamp(v: date) -> str:
    return v.isoformat(sep=" ", timespec="minutes") if isinstance(v, datetime) else str(v)


def _why(e: Event) -> str:
    return f"<br><small>{html.escape('; '.join(e.reasons))}</small>" if e.reasons else ""
