"""The Grafana dashboard and the Prometheus rules in docs/ are well formed and query only
metrics our ``GET /metrics`` exports: the exposition is the real one, from the app's
registry after a job ran through a worker and the API served a request."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from renderhouse.api import create_app
from renderhouse.queue.enqueue import NewJob
from renderhouse.runtime import Runtime
from renderhouse.settings import Settings
from renderhouse.worker.worker import Worker, WorkerConfig
from tests.conftest import REPO

DOCS = REPO / "docs"
GRAFANA = DOCS / "grafana-dashboard.json"
RULES = DOCS / "prometheus-alerts.yml"
SYNTHETIC = {"up"}
"""Series Prometheus writes itself for every scrape target; no exporter has them."""
# Which series a family of each type exposes (text format): suffix -> family types.
SUFFIXES = {
    "_total": {"counter"},
    "_bucket": {"histogram"},
    "_sum": {"histogram", "summary"},
    "_count": {"histogram", "summary"},
}
KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan"}
GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
IDENT = re.compile(r"(?<![\w.:$])[A-Za-z_:][\w:]*")


def metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression selects: not functions, keywords, label names
    (in matchers and grouping clauses), strings, durations or Grafana variables."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges and subqueries
    text = re.sub(r"\$\{?\w+\}?", " ", text)  # Grafana variables ($__rate_interval, ${ds})
    text = GROUPING.sub(" ", text)
    names = set()
    for m in IDENT.finditer(text):
        if m.group() in KEYWORDS or re.match(r"\s*\(", text[m.end() :]):
            continue  # an operator keyword, or a function call
        names.add(m.group())
    return names


def test_metric_names_parses_promql() -> None:
    expr = (
        'sum by (kind, outcome) (rate(a_total{outcome="failed", x=~"y|z"}[5m])) '
        "/ on(kind) group_left(team) b_info > 0.5 and c offset 1h unless "
        "histogram_quantile(0.95, sum without (le) (rate(d_bucket[$__rate_interval]))) or 1e3 "
        '* label_replace(e, "dst", "$1", "src", "(.*)")'
    )
    assert metric_names(expr) == {"a_total", "b_info", "c", "d_bucket", "e"}


@pytest.fixture(scope="module")
def exposition(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Families (name -> type) and sample names of our real ``/metrics``."""
    data = tmp_path_factory.mktemp("metrics")
    rt = Runtime(Settings(data_dir=data, secret_key="k" * 40))
    rt.prepare_store(create_if_empty=True)
    app = create_app(rt.settings, rt)
    job, _ = rt.queue.enqueue(NewJob(kind="noop", input={}))
    worker = Worker(
        rt.queue,
        rt.registry,
        rt.storage,
        WorkerConfig(kinds=["noop"], poll_seconds=0.05, heartbeat_seconds=1),
    )

    async def exercise() -> str:
        task = asyncio.create_task(worker.run())
        deadline = time.monotonic() + 30
        while rt.queue.get(job.id).state != "succeeded" and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        worker.stop()
        await task
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            assert (await client.get("/health/live")).status_code == 200
            response = await client.get("/metrics")
            assert response.status_code == 200
            return response.text

    try:
        text = asyncio.run(exercise())
    finally:
        rt.close()
    families = {f.name: f.type for f in text_string_to_metric_families(text)}
    samples = {s.name for f in text_string_to_metric_families(text) for s in f.samples}
    return {"families": families, "samples": samples}


def exported(name: str, exposition: dict[str, Any]) -> bool:
    if name in exposition["samples"]:
        return True
    families: dict[str, str] = exposition["families"]
    for suffix, types in SUFFIXES.items():
        if name.endswith(suffix) and families.get(name.removesuffix(suffix)) in types:
            return True  # a labelled family with no value yet (no rescue so far, say)
    return families.get(name) in {"gauge", "untyped", "unknown"}


def test_the_exposition_is_real(exposition: dict[str, Any]) -> None:
    """The exercise produced values, and the suffix rules tell a family from its series."""
    for name in (
        "renderhouse_jobs_finished_total",
        "renderhouse_job_duration_seconds_bucket",
        "renderhouse_job_queue_wait_seconds_count",
        "renderhouse_http_requests_total",
        "renderhouse_http_request_duration_seconds_sum",
        "renderhouse_queue_jobs",
        "renderhouse_data_disk_free_bytes",
    ):
        assert name in exposition["samples"], name
    assert exported("renderhouse_jobs_rescued_total", exposition)  # counted, none yet
    for wrong in (
        "renderhouse_jobs_finished",  # a counter's series end in _total
        "renderhouse_job_duration_seconds",  # a histogram has _bucket/_sum/_count
        "renderhouse_queue_jobs_total",  # a gauge has no _total
        "renderhouse_jobs_finished_bucket",
        "node_filesystem_avail_bytes",
    ):
        assert not exported(wrong, exposition), wrong


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))  # a collapsed row keeps its own


def test_grafana_dashboard(exposition: dict[str, Any]) -> None:
    board = json.loads(GRAFANA.read_text())
    assert board["title"] and board["uid"] and isinstance(board["schemaVersion"], int)
    (ds,) = [v for v in board["templating"]["list"] if v["type"] == "datasource"]
    assert ds["query"] == "prometheus"
    datasource = {"type": "prometheus", "uid": "${" + ds["name"] + "}"}
    panels = list(_panels(board["panels"]))
    assert panels
    ids = [p["id"] for p in panels]
    assert all(isinstance(i, int) for i in ids) and len(ids) == len(set(ids)), ids
    cells: dict[tuple[int, int], int] = {}
    missing: dict[str, set[str]] = {}
    for panel in panels:
        assert panel["title"], panel["id"]
        g = panel["gridPos"]
        assert g["x"] >= 0 and g["w"] > 0 and g["x"] + g["w"] <= 24 and g["h"] > 0, panel["title"]
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps panel {cells[(x, y)]}"
                cells[(x, y)] = panel["id"]
        if panel["type"] == "row":
            continue
        targets = panel["targets"]
        assert targets, panel["title"]
        assert len({t["refId"] for t in targets}) == len(targets), panel["title"]
        for target in targets:
            assert target.get("datasource", panel.get("datasource")) == datasource, panel["title"]
            names = metric_names(target["expr"])
            assert names, target["expr"]
            for name in names - SYNTHETIC:
                if not exported(name, exposition):
                    missing.setdefault(name, set()).add(panel["title"])
    assert missing == {}, f"panels query metrics /metrics does not export: {missing}"


def test_prometheus_rules(exposition: dict[str, Any]) -> None:
    doc = yaml.safe_load(RULES.read_text())
    rules = [rule for group in doc["groups"] for rule in group["rules"]]
    assert all(group["name"] for group in doc["groups"]) and rules
    alerts = [r["alert"] for r in rules]
    assert len(alerts) == len(set(alerts)), alerts
    missing: dict[str, set[str]] = {}
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule["alert"]
        assert re.fullmatch(r"\d+[smhdwy]", rule.get("for", "0s")), rule["alert"]
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        names = metric_names(rule["expr"])
        assert names, rule["alert"]
        for name in names - SYNTHETIC:
            if not exported(name, exposition):
                missing.setdefault(name, set()).add(rule["alert"])
    assert missing == {}, f"rules query metrics /metrics does not export: {missing}"
