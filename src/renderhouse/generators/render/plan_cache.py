"""Plans cached by (brief, canon, model content hash, planner version): the same request
plans once, even across workers sharing the cache directory, so a paid planner is called
once per distinct request. A directory of small JSON files, written atomically; hits and
misses are counted for the hit-rate figure."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from pydantic import ValidationError

from renderhouse.generators.render.canon import Canon
from renderhouse.generators.render.plan import Plan


def plan_key(brief: str, canon: Canon, model_sha256: str, planner: str) -> str:
    blob = json.dumps(
        {
            "brief": brief,
            "canon": canon.model_dump(mode="json", exclude={"source"}),
            "model": model_sha256,
            "planner": planner,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(blob.encode()).hexdigest()


class PlanCache:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.hits = 0
        self.misses = 0

    @property
    def hit_rate(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> Plan | None:
        try:
            plan = Plan.model_validate_json(self._path(key).read_bytes())
        except (OSError, ValidationError, ValueError):
            self.misses += 1  # absent, or written by an older planner's schema: plan again
            return None
        self.hits += 1
        return plan

    def put(self, key: str, plan: Plan) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w") as fh:
            fh.write(plan.model_dump_json())
        os.replace(tmp, path)

    def stats(self) -> dict[str, float]:
        return {"hits": self.hits, "misses": self.misses, "hit_rate": round(self.hit_rate, 4)}
