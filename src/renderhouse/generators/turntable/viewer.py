"""Write the self-contained, offline turntable viewer next to the frames.

``viewer.html`` (shipped as package data) holds all the CSS and JavaScript inline; this
module only fills in the manifest, the title and a Content-Security-Policy. The page
must work from a USB stick or an air-gapped share, so it never references a CDN, and
the CSP (built with hashes of the exact inline script and style) makes any accidental
request to another origin fail instead of leaking: images may come only from the page's
own origin or ``file:``, and ``connect-src`` is ``'none'``.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from importlib import resources
from pathlib import Path
from urllib.parse import quote

TEMPLATE_NAME = "viewer.html"
_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)
_STYLE = re.compile(r"<style>(.*?)</style>", re.DOTALL)


def _template() -> str:
    return (
        resources.files("renderhouse.generators.turntable")
        .joinpath(TEMPLATE_NAME)
        .read_text(encoding="utf-8")
    )


def _sha256_source(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def _content_security_policy(template: str) -> str:
    scripts = [_sha256_source(m) for m in _SCRIPT.findall(template)]
    styles = [_sha256_source(m) for m in _STYLE.findall(template)]
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src {' '.join(scripts)}",
            f"style-src {' '.join(styles)}",
            "img-src 'self' file: data: blob:",
            "media-src 'self' file: blob:",
            "connect-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )


def _embed_json(manifest: dict) -> str:
    # Inside <script type="application/json"> only "</script" could end the block; escaping
    # <, > and & as JSON unicode escapes rules that out and keeps the JSON identical.
    text = json.dumps(manifest, ensure_ascii=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_viewer(manifest: dict) -> str:
    """Return the viewer page for ``manifest`` as a string."""
    template = _template()
    title = html.escape(str(manifest.get("model", {}).get("name") or "Turntable"), quote=True)
    poster = html.escape(quote(str(manifest.get("poster") or ""), safe="/"), quote=True)
    # Placeholders outside <script>/<style> only, so the CSP hashes stay valid.
    return (
        template.replace("{{CSP}}", _content_security_policy(template))
        .replace("{{TITLE}}", title)
        .replace("{{POSTER_URL}}", poster)
        .replace("{{MANIFEST_JSON}}", _embed_json(manifest))
    )


def write_viewer(manifest: dict, out_path: Path) -> Path:
    """Write ``viewer.html`` for ``manifest`` to ``out_path`` (which should sit in the
    output directory the manifest's relative frame names are resolved against)."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(render_viewer(manifest), encoding="utf-8")
    return out_path
