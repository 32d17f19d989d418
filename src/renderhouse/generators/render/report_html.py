"""``report.html``: one self-contained page per render job: each picture with the measured
product and logo boxes and the safe zones drawn over it, and the rules as a table."""

from __future__ import annotations

from html import escape
from typing import Any

from renderhouse.generators.render.canon import Canon
from renderhouse.generators.render.plan import Plan
from renderhouse.generators.render.report import Report

STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:24px;color:#1d1d1f;background:#fafafa}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.meta{color:#555;margin-bottom:16px}
.shot{position:relative;display:inline-block;max-width:520px;width:100%}
.shot img{width:100%;display:block;border:1px solid #ccc}
.box{position:absolute;border:2px solid;box-sizing:border-box}
.box span{position:absolute;top:-18px;left:-2px;font-size:11px;color:#fff;padding:0 4px}
.product{border-color:#0a84ff}.product span{background:#0a84ff}
.logo{border-color:#ff9f0a}.logo span{background:#ff9f0a}
.zone{border:1px dashed #34c759}
table{border-collapse:collapse;margin-top:12px;min-width:520px}
td,th{border-bottom:1px solid #ddd;padding:5px 10px;text-align:left;vertical-align:top}
.pass{color:#1b7f3b;font-weight:600}.fail{color:#c62828;font-weight:600}
.score{font-size:28px;font-weight:700}
.layout{display:flex;gap:28px;flex-wrap:wrap;align-items:flex-start}
.ai{margin-top:8px;color:#333}.ai ul{margin:4px 0 0 18px;padding:0;color:#555}
"""


def _box(cls: str, label: str, box: list[int] | None, w: int, h: int) -> str:
    if not box:
        return ""
    x0, y0, x1, y1 = box
    return (
        f'<div class="box {cls}" style="left:{100 * x0 / w:.3f}%;top:{100 * y0 / h:.3f}%;'
        f'width:{100 * (x1 - x0) / w:.3f}%;height:{100 * (y1 - y0) / h:.3f}%">'
        f"<span>{escape(label)}</span></div>"
    )


def _ai_line(ai: dict[str, Any] | None) -> str:
    if not ai:
        return ""
    used = "the AI picture" if ai["used"] == "ai" else "our own render (fallback)"
    notes = "".join(f"<li>{escape(str(n))}</li>" for n in ai.get("notes", []))
    return (
        f"<div class='ai'>{escape(str(ai['provider']))}: delivered {used} after "
        f"{ai['attempts']} attempt(s), ${ai['cost_micro_usd'] / 1e6:.4f}"
        f"{f'<ul>{notes}</ul>' if notes else ''}</div>"
    )


def section(name: str, report: Report, canon: Canon, ai: dict[str, Any] | None = None) -> str:
    w, h = report.width, report.height
    zones = "".join(
        f'<div class="box zone" title="safe zone {escape(z.name)}" style="left:{100 * z.x:.3f}%;'
        f'top:{100 * z.y:.3f}%;width:{100 * z.w:.3f}%;height:{100 * z.h:.3f}%"></div>'
        for z in canon.logo.safe_zones
    )
    overlay = (
        zones
        + _box("product", "product", report.boxes.get("product"), w, h)
        + _box("logo", "logo", report.boxes.get("logo"), w, h)
    )
    rows = "".join(
        f"<tr><td>{escape(r.title)}</td>"
        f'<td class="{"pass" if r.passed else "fail"}">{"pass" if r.passed else "FAIL"}</td>'
        f"<td>{'' if r.measured is None else r.measured}</td>"
        f"<td>{escape(r.threshold)}</td><td>{escape(r.detail)}</td></tr>"
        for r in report.rules
    )
    verdict = "passes" if report.passed else f"fails {len(report.failed())} rule(s)"
    return (
        f"<h2>{escape(name)} — {w}x{h}</h2><div class='layout'>"
        f'<div class="shot"><img src="{escape(name)}" alt="render {escape(name)}">{overlay}</div>'
        f"<div><div class='score'>{report.score:.0f}/100</div><div>{verdict}</div>"
        f"{_ai_line(ai)}"
        "<table><thead><tr><th>rule</th><th>result</th><th>measured</th><th>threshold</th>"
        f"<th>detail</th></tr></thead><tbody>{rows}</tbody></table></div></div>"
    )


def report_page(
    canon: Canon,
    plan: Plan,
    reports: list[tuple[str, Report]],
    ai: dict[str, dict[str, Any]] | None = None,
    title: str | None = None,
) -> str:
    """``ai``: per picture name, the AI path's summary (provider, used, attempts, notes);
    ``title`` replaces the plan line (a checked picture has no plan of ours)."""
    body = "".join(section(name, rep, canon, (ai or {}).get(name)) for name, rep in reports)
    plan_line = (
        f"planner {escape(plan.planner)} · azimuth {plan.azimuth:g}° · elevation "
        f"{plan.elevation:g}° · lighting {escape(plan.lighting)} · "
        f"exposure {plan.exposure:g} · fill {plan.fill:g}"
    )
    if plan.fallback is not None:
        plan_line += (
            f" · LLM plan not used: {escape(plan.fallback.message)} [{escape(plan.fallback.code)}]"
        )
    meta = escape(title) if title else plan_line
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Brand report — {escape(canon.name)}</title><style>{STYLE}</style></head><body>"
        f"<h1>Brand-canon report: {escape(canon.name)}</h1><div class='meta'>{meta}</div>"
        f"{body}</body></html>"
    )
