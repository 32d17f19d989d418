"""The LLM planner against a real model: the bundled offline SmolLM2-135M (``smollm2``,
installed by ``scripts/install.sh --dev``) through the platform's model registry. A model
that small may or may not produce a valid plan; either way the job finishes with a plan
that keeps to the canon, a compliant picture, and says which planner made it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from renderhouse.generators.local_context import LocalContext
from renderhouse.generators.render import RenderGenerator
from renderhouse.generators.render.job import run_render
from renderhouse.generators.render.llm_planner import DISTANCE, EXPOSURE, fill_range
from renderhouse.generators.render.plan_cache import PlanCache
from renderhouse.models.config import OFFLINE_MODEL, LLMSettings
from renderhouse.models.job_completions import RegistryCompletions
from renderhouse.models.registry import ModelRegistry
from tests.render.conftest import MODEL


def test_the_offline_model_plans_or_the_rules_planner_does(
    canon_data: dict[str, Any], tmp_path: Path
) -> None:
    canon_data["outputs"] = [{"width": 384, "height": 384, "format": "png"}]
    inp: Any = RenderGenerator().parse_input(
        {
            "brief": "a calm side view with room for a headline",
            "model": str(MODEL),
            "canon": canon_data,
            "planner": "llm",
            "planner_model": OFFLINE_MODEL,
        }
    )
    llm = RegistryCompletions(ModelRegistry(LLMSettings()), 60)
    result = run_render(LocalContext(tmp_path / "out", llm=llm), inp, PlanCache(tmp_path / "c"))
    planning = result["planning"]
    assert planning["requested"] == "llm" and planning["llm_calls"] >= 1  # really asked
    assert planning["prompt_tokens"] > 0 and planning["completion_tokens"] > 0
    plan = json.loads((tmp_path / "out" / "plan.json").read_text())
    assert plan["planner"] == planning["planner"]
    if planning["used"] == "llm":
        assert plan["planner"] == f"llm-1:{OFFLINE_MODEL}" and plan["fallback"] is None
        fr = inp.canon.framing
        lo, hi = fill_range(inp.canon)
        assert fr.elevation_min <= plan["elevation"] <= fr.elevation_max
        assert lo <= plan["fill"] <= hi
        assert DISTANCE[0] <= plan["distance"] <= DISTANCE[1]
        assert EXPOSURE[0] <= plan["exposure"] <= EXPOSURE[1]
    else:
        assert plan["planner"] == "rules-1" and planning["llm_calls"] == 2
        assert plan["fallback"]["code"] == "llm_invalid_plan" == planning["fallback"]["code"]
    assert result["passed"] is True, json.loads((tmp_path / "out" / "report.json").read_text())
