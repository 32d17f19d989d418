"""Secrets sealed at rest (Fernet under an HKDF key from the secret key, bound to their
row), a result's ``metrics`` turned into series only through the allow-list, and the
upload limit's ``RateLimit-*`` headers."""

from __future__ import annotations

import math

import pytest
from prometheus_client import REGISTRY

from renderhouse import metrics
from renderhouse.calendars import sealing
from renderhouse.errors import JobFailed
from renderhouse.worker import failures

KEY = "k" * 40


def test_sealed_secret_opens_only_with_its_key_and_row() -> None:
    sealed = sealing.seal(KEY, "cal_1", "hunter2")
    assert "hunter2" not in sealed
    assert sealing.seal(KEY, "cal_1", "hunter2") != sealed  # a fresh IV each time
    assert sealing.unseal(KEY, "cal_1", sealed) == "hunter2"
    with pytest.raises(sealing.Unreadable, match="secret key changed"):
        sealing.unseal("z" * 40, "cal_1", sealed)  # the key was rotated
    with pytest.raises(sealing.Unreadable, match="another connection"):
        sealing.unseal(KEY, "cal_2", sealed)  # copied onto another row
    with pytest.raises(sealing.Unreadable):
        sealing.unseal(KEY, "cal_1", sealed[:-4] + "AAAA")  # tampered
    err = sealing.Unreadable("x")
    assert isinstance(err, JobFailed) and failures.caller_fault(err), "final, not retried"


def _value(name: str, kind: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, {"kind": kind, **labels}) or 0.0


def test_result_metrics_allow_list() -> None:
    kind = "metrics_probe"
    metrics.result_reported(kind, {"metrics": {
        "pages": 3, "seconds": 0.5, "events": 12, "confidence": [1.0, 0.55, 0.9],
        "made_up": 7, "labels": {"x": "y"},
    }})  # fmt: skip
    assert _value("renderhouse_job_pages_total", kind) == 3
    assert _value("renderhouse_job_work_seconds_total", kind) == 0.5
    assert _value("renderhouse_job_events_count", kind) == 1
    assert _value("renderhouse_job_events_sum", kind) == 12
    assert _value("renderhouse_job_confidence_count", kind) == 3
    assert _value("renderhouse_job_confidence_bucket", kind, le="0.6") == 1
    names = {m.name for m in REGISTRY.collect()}
    assert not any("made_up" in n for n in names)
    # wrong types and out-of-range values are ignored, not recorded, not raised
    metrics.result_reported(kind, {"metrics": {
        "pages": -1, "seconds": math.nan, "events": True, "confidence": [2.0, "x", None, 0.2],
    }})  # fmt: skip
    metrics.result_reported(kind, {"metrics": "nope"})
    metrics.result_reported(kind, None)
    assert _value("renderhouse_job_pages_total", kind) == 3
    assert _value("renderhouse_job_work_seconds_total", kind) == 0.5
    assert _value("renderhouse_job_events_count", kind) == 1
    assert _value("renderhouse_job_confidence_count", kind) == 4
