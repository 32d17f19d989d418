"""The LLM planner against a scripted ``ctx.llm``: a valid reply is used; an invalid one
(not JSON, outside the canon) gets one repair turn; two invalid replies or an outage fall
back to the rules planner and say why; the caller's own mistake ends the job; the cache
makes the same request call the model once; the plan it makes still renders on brand."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from renderhouse.errors import InvalidInput, NotFound
from renderhouse.generators.language import (
    LanguageModelError,
    LanguageModels,
    LanguageModelUnavailable,
    Reply,
    Request,
)
from renderhouse.generators.local_context import LocalContext
from renderhouse.generators.render import RenderGenerator
from renderhouse.generators.render.canon import Canon
from renderhouse.generators.render.job import run_render
from renderhouse.generators.render.llm_planner import (
    LLMPlanner,
    extract_json,
    fill_range,
    reply_schema,
)
from renderhouse.generators.render.plan import RULES_PLANNER, rules_plan
from renderhouse.generators.render.plan_cache import PlanCache
from renderhouse.generators.render.planning import plan_for
from tests.render.conftest import MODEL


class ScriptedModels(LanguageModels):
    """``ctx.llm`` that answers from a script (a text, or an exception to raise) and
    records every call."""

    def __init__(self, *answers: str | Exception) -> None:
        self.answers = list(answers)
        self.calls: list[dict[str, Any]] = []

    def answer(self, request: Request) -> Reply:
        self.calls.append(asdict(request))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        name = request.model or "house-default"
        return Reply(answer, name, f"{name}#0", 120, 45, 9)


def choice(canon: Canon, **changes: Any) -> dict[str, Any]:
    lo, hi = fill_range(canon)
    fr = canon.framing
    data = {
        "azimuth": -40.0,
        "elevation": fr.elevation_max - 2,
        "distance": 5.0,
        "fill": round(lo + 0.2 * (hi - lo), 3),
        "lighting": "contrast",
        "exposure": 0.95,
        "prompt": "Moody rim light on the speaker grilles.",
    }
    return {**data, **changes}


BRIEF = "a moody premium shot for a night-time billboard"


def test_a_valid_reply_is_the_plan(canon: Canon) -> None:
    wanted = choice(canon)
    llm = ScriptedModels(json.dumps(wanted))
    planned = LLMPlanner(llm, "gpt-fake").plan(BRIEF, canon)
    plan = planned.plan
    assert plan.planner == "llm-1:gpt-fake" and plan.fallback is None
    assert (plan.azimuth, plan.elevation, plan.distance, plan.fill) == (
        wanted["azimuth"],
        wanted["elevation"],
        wanted["distance"],
        wanted["fill"],
    )
    assert (plan.lighting, plan.exposure) == ("contrast", 0.95)
    # the rest comes from the canon; the image prompt always asks to keep the product
    assert plan.centre == canon.framing.centre and plan.outputs == canon.outputs
    assert plan.prompt.startswith("Moody rim light") and "Keep the product exactly" in plan.prompt
    assert len(planned.replies) == 1 and planned.cacheable
    (call,) = llm.calls
    assert call["model"] == "gpt-fake" and call["temperature"] == 0
    assert call["json_schema"] == reply_schema(canon)
    asked = call["messages"][-1]["content"]
    fr = canon.framing
    lo, hi = fill_range(canon)
    assert BRIEF in asked
    assert f"{fr.elevation_min:g} to {fr.elevation_max:g}" in asked
    assert f"{lo:g} to {hi:g}" in asked


@pytest.mark.parametrize(
    "wrapped",
    [
        "```json\n{doc}\n```",
        "Here is the plan you asked for:\n{doc}\nEnjoy!",
        "Plan {{draft}} then: {doc}",
    ],
)
def test_the_json_object_is_found_in_fences_and_prose(canon: Canon, wrapped: str) -> None:
    doc = json.dumps(choice(canon))
    llm = ScriptedModels(wrapped.format(doc=doc))
    plan = LLMPlanner(llm, None).plan(BRIEF, canon).plan
    assert plan.planner == "llm-1:house-default" and plan.azimuth == -40.0
    assert len(llm.calls) == 1


def test_extract_json_refuses_a_reply_without_an_object() -> None:
    with pytest.raises(ValueError, match="no JSON object"):
        extract_json("I would shoot it from the front, softly lit.")
    with pytest.raises(ValueError):
        extract_json('{"azimuth": 30, "elevation":')


def test_invalid_json_is_repaired_once(canon: Canon) -> None:
    bad = '{"azimuth": 30, "elevation": 12, oops'
    llm = ScriptedModels(bad, json.dumps(choice(canon, azimuth=90.0)))
    planned = LLMPlanner(llm, "gpt-fake").plan(BRIEF, canon)
    assert planned.plan.planner == "llm-1:gpt-fake" and planned.plan.azimuth == 90.0
    assert len(planned.replies) == 2
    second = llm.calls[1]["messages"]
    assert second[:2] == llm.calls[0]["messages"]
    assert second[2] == {"role": "assistant", "content": bad}
    assert "no JSON object" in second[3]["content"]


def test_values_outside_the_canon_are_repaired(canon: Canon) -> None:
    fr = canon.framing
    too_high = fr.elevation_max + 20
    llm = ScriptedModels(
        json.dumps(choice(canon, elevation=too_high, fill=0.99, exposure=3.0)),
        json.dumps(choice(canon)),
    )
    planned = LLMPlanner(llm, "gpt-fake").plan(BRIEF, canon)
    assert planned.plan.fallback is None and planned.plan.elevation == fr.elevation_max - 2
    repair = llm.calls[1]["messages"][-1]["content"]
    assert "exposure" in repair  # a field limit of the reply model
    llm = ScriptedModels(json.dumps(choice(canon, elevation=too_high, fill=0.99)), "{}")
    LLMPlanner(llm, "gpt-fake").plan(BRIEF, canon)
    repair = llm.calls[1]["messages"][-1]["content"]
    assert f"elevation {too_high:g} is outside the canon's" in repair  # a canon range
    assert "fill 0.99 is outside the canon's" in repair


def test_two_invalid_replies_fall_back_to_the_rules_planner(canon: Canon) -> None:
    llm = ScriptedModels("no idea", json.dumps(choice(canon, lighting="neon")))
    planned = LLMPlanner(llm, "gpt-fake").plan(BRIEF, canon)
    plan = planned.plan
    assert plan.planner == RULES_PLANNER
    assert plan.model_copy(update={"fallback": None}) == rules_plan(BRIEF, canon)
    assert plan.fallback is not None and plan.fallback.code == "llm_invalid_plan"
    assert "lighting" in plan.fallback.message
    assert len(planned.replies) == 2 and planned.cacheable  # the model was asked and paid


@pytest.mark.parametrize(
    "failure",
    [
        LanguageModelUnavailable("no language model is configured"),
        LanguageModelError("every deployment failed", code="provider_unavailable"),
    ],
)
def test_an_outage_falls_back_and_is_not_cached(canon: Canon, failure: LanguageModelError) -> None:
    llm = ScriptedModels(failure)
    planned = LLMPlanner(llm, None).plan(BRIEF, canon)
    assert planned.plan.planner == RULES_PLANNER
    assert planned.plan.fallback is not None
    assert planned.plan.fallback.code == failure.code
    assert str(failure) in planned.plan.fallback.message
    assert planned.replies == [] and planned.cacheable is False


def test_an_outage_on_the_repair_turn_keeps_the_first_calls_cost(canon: Canon) -> None:
    llm = ScriptedModels("not json", LanguageModelError("timed out", code="provider_timeout"))
    planned = LLMPlanner(llm, None).plan(BRIEF, canon)
    assert planned.plan.fallback is not None
    assert planned.plan.fallback.code == "provider_timeout"
    assert len(planned.replies) == 1


@pytest.mark.parametrize(
    "refusal",
    [
        InvalidInput("the messages are too long", code="context_length_exceeded"),
        NotFound("unknown model 'nope'", code="model_not_found"),
    ],
)
def test_the_callers_mistake_is_not_hidden_by_a_fallback(canon: Canon, refusal: Exception) -> None:
    with pytest.raises(InvalidInput) as info:
        LLMPlanner(ScriptedModels(refusal), "nope").plan(BRIEF, canon)
    assert info.value.code == refusal.code


def test_the_cache_asks_the_model_once_per_request(canon: Canon, tmp_path: Path) -> None:
    cache = PlanCache(tmp_path)
    llm = ScriptedModels(json.dumps(choice(canon)))
    first = plan_for(BRIEF, canon, "a" * 64, cache, LLMPlanner(llm, "gpt-fake"))
    again = plan_for(BRIEF, canon, "a" * 64, cache, LLMPlanner(llm, "gpt-fake"))
    assert len(llm.calls) == 1
    assert (first.hit, again.hit) == (False, True) and first.plan == again.plan
    assert first.summary()["cost_credits"] == 9 and again.summary()["cost_credits"] == 0
    assert again.summary()["used"] == "llm" and again.summary()["llm_calls"] == 0
    # another planner model, or the rules planner, is another entry
    other = ScriptedModels(json.dumps(choice(canon, azimuth=10.0)))
    assert plan_for(BRIEF, canon, "a" * 64, cache, LLMPlanner(other, "gpt-other")).hit is False
    assert plan_for(BRIEF, canon, "a" * 64, cache).plan.planner == RULES_PLANNER
    # an invalid-twice fallback is cached (asking again would pay for the same answers) …
    bad = ScriptedModels("?", "?")
    fell = plan_for("another brief", canon, "a" * 64, cache, LLMPlanner(bad, "gpt-fake"))
    assert fell.summary()["fallback"]["code"] == "llm_invalid_plan"
    again = plan_for("another brief", canon, "a" * 64, cache, LLMPlanner(bad, "gpt-fake"))
    assert again.hit and again.summary()["fallback"]["code"] == "llm_invalid_plan"
    # … an outage's is not: the next job asks again
    down = ScriptedModels(LanguageModelUnavailable("down"), json.dumps(choice(canon)))
    assert plan_for("a third", canon, "a" * 64, cache, LLMPlanner(down, None)).hit is False
    later = plan_for("a third", canon, "a" * 64, cache, LLMPlanner(down, None))
    assert later.hit is False and later.summary()["used"] == "llm"


def test_an_llm_plan_renders_on_brand_and_the_job_reports_it(
    canon_data: dict[str, Any], canon: Canon, tmp_path: Path
) -> None:
    canon_data["outputs"] = [{"width": 512, "height": 512, "format": "png"}]
    inp = RenderGenerator().parse_input(
        {
            "brief": BRIEF,
            "model": str(MODEL),
            "canon": canon_data,
            "planner": "llm",
            "planner_model": "gpt-fake",
        }
    )
    llm = ScriptedModels("Sure! " + json.dumps(choice(canon)))
    cache = PlanCache(tmp_path / "plans")
    result = run_render(LocalContext(tmp_path / "out", llm=llm), inp, cache)
    assert result["passed"] is True and result["score"] == 100.0
    assert result["planning"]["used"] == "llm" and result["planning"]["fallback"] is None
    assert result["planning"]["planner"] == "llm-1:gpt-fake"
    assert (result["planning"]["prompt_tokens"], result["planning"]["completion_tokens"]) == (
        120,
        45,
    )
    assert result["llm_cost_credits"] == 9
    plan = json.loads((tmp_path / "out" / "plan.json").read_text())
    assert plan["planner"] == "llm-1:gpt-fake" and plan["azimuth"] == -40.0
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["planning"]["used"] == "llm"

    again = run_render(LocalContext(tmp_path / "again", llm=llm), inp, cache)
    assert len(llm.calls) == 1 and again["llm_cost_credits"] == 0
    assert again["planning"]["cache_hit"] is True


def test_a_fallback_is_reported_on_the_job(canon_data: dict[str, Any], tmp_path: Path) -> None:
    canon_data["outputs"] = [{"width": 256, "height": 256, "format": "png"}]
    inp = RenderGenerator().parse_input(
        {"brief": BRIEF, "model": str(MODEL), "canon": canon_data, "planner": "llm"}
    )
    llm = ScriptedModels(LanguageModelUnavailable("no language model is configured"))
    result = run_render(LocalContext(tmp_path, llm=llm), inp, PlanCache(tmp_path / "plans"))
    assert result["passed"] is True
    assert result["planning"]["used"] == "rules" and result["planning"]["requested"] == "llm"
    assert result["planning"]["fallback"]["code"] == "llm_unavailable"
    assert result["llm_cost_credits"] == 0
    page = (tmp_path / "report.html").read_text()
    assert "LLM plan not used: the language model could not answer: no language model" in page


@pytest.mark.parametrize(
    ("field", "value"), [("planner", "oracle"), ("planner_model", "no such model!")]
)
def test_planner_input_is_checked(canon_data: dict[str, Any], field: str, value: str) -> None:
    data = {"brief": "b", "model": "m.glb", "canon": canon_data, "planner": "llm", field: value}
    with pytest.raises(InvalidInput) as info:
        RenderGenerator().parse_input(data)
    assert info.value.code == "invalid_input"
    assert info.value.details["errors"][0]["field"] == field
