"""The SDK examples in examples/render, run against a real server socket and a worker:
the Python one (renderhouse.client) and the Node one (fetch, no build step) each submit a
render, follow it over SSE and download the picture, plan and report."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from renderhouse.worker.worker import Worker, WorkerConfig
from tests.render.conftest import EXAMPLE, MODEL

pytestmark = pytest.mark.slow


@pytest.fixture
def worker(runtime: Any, tmp_path: Path) -> Iterator[Worker]:
    w = Worker(
        runtime.queue,
        runtime.registry,
        runtime.storage,
        WorkerConfig(
            kinds=["render"],
            poll_seconds=0.05,
            heartbeat_seconds=1,
            upload_cache_dir=tmp_path / "uploads",
        ),
    )
    thread = threading.Thread(target=lambda: asyncio.run(w.run()), daemon=True)
    thread.start()
    yield w
    w.stop_threadsafe()
    thread.join(30)


def _expect_outputs(out: Path) -> None:
    names = {p.name for p in out.iterdir()}
    assert {
        "render_1024x1024.png",
        "render_1200x628.jpg",
        "plan.json",
        "report.json",
        "report.html",
    } <= names
    report = json.loads((out / "report.json").read_text())
    assert report["passed"] is True


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_python_example(
    live_server: str, users: Any, worker: Worker, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    sys.path.insert(0, str(EXAMPLE))
    try:
        import submit_render  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(EXAMPLE))
    final = submit_render.main(live_server, users.alice, MODEL, tmp_path / "out")
    assert final["state"] == "succeeded"
    _expect_outputs(tmp_path / "out")
    printed = capsys.readouterr().out
    assert "progress: rendered render_1024x1024.png" in printed and "on brand" in printed


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_node_example(live_server: str, users: Any, worker: Worker, tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (scripts/install.sh --dev installs nodejs)")
    run = subprocess.run(
        [node, str(EXAMPLE / "submit_render.mjs"), str(MODEL), str(tmp_path / "out")],
        env={**os.environ, "RENDERHOUSE_URL": live_server, "RENDERHOUSE_KEY": users.alice},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stderr
    assert "on brand, score 100/100" in run.stdout
    assert "rendered render_1200x628.jpg" in run.stdout
    _expect_outputs(tmp_path / "out")
