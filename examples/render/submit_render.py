"""Submit a render to a Renderhouse server, follow it live (SSE), download what it made.

    RENDERHOUSE_URL=http://127.0.0.1:8000 RENDERHOUSE_KEY=rh_... \
        python examples/render/submit_render.py [MODEL.glb] [OUT_DIR]

Uses the example canon and brief beside this file; the canon's logo path is inlined as a
data URL (a canon never names a file on the server)."""

from __future__ import annotations

import base64
import json
import os
import sys
from pathlib import Path
from typing import Any

from renderhouse.client import Client

HERE = Path(__file__).resolve().parent


def canon_with_inline_logo() -> dict[str, Any]:
    canon = json.loads((HERE / "canon.json").read_text())
    logo = (HERE / canon["logo"]["image"]).read_bytes()
    canon["logo"]["image"] = "data:image/png;base64," + base64.b64encode(logo).decode()
    return canon


def main(base_url: str, key: str, model: Path, out: Path) -> dict[str, Any]:
    with Client(base_url, key) as rh:
        uploaded = rh.upload(model)
        job = rh.submit(
            "render",
            {
                "brief": (HERE / "brief.txt").read_text().strip(),
                "model": uploaded["ref"],
                "canon": canon_with_inline_logo(),
            },
        )
        print(f"job {job['id']}: {job['state']}, {job['cost']['estimated']} credit(s) estimated")

        def show(event: dict[str, Any]) -> None:
            data = event.get("data") or {}
            print(f"  {event.get('type')}: {data.get('message') or data.get('state') or ''}")

        final = rh.wait(job["id"], on_event=show)
        if final["state"] != "succeeded":
            error = final.get("error") or {}
            code, message = error.get("code"), error.get("message")
            raise SystemExit(f"render {final['state']}: {code}: {message}")
        files = rh.download(job["id"], out)
        result = final["result"]
        verdict = "on brand" if result["passed"] else "off brand"
        print(f"{verdict}, score {result['score']:.0f}/100; {len(files)} files in {out}")
        return final


if __name__ == "__main__":
    url = os.environ.get("RENDERHOUSE_URL", "http://127.0.0.1:8000")
    model_path = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parent / "models" / "BoomBox.glb"
    out_dir = Path(sys.argv[2]) if len(sys.argv) > 2 else Path("render_out")
    main(url, os.environ["RENDERHOUSE_KEY"], model_path, out_dir)
