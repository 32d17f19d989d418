"""The LLM planner: the brief and the canon's ranges go to a language model (``ctx.llm``);
its JSON reply is validated against the canon; an invalid reply gets one repair turn (the
model sees its reply and what was wrong); after that, or when no model can answer, the
rules planner makes the plan and the plan says why (``Plan.fallback``).

The model decides only what the brief can change (camera, light, fill, the image prompt);
the rest of the plan comes from the canon, so an LLM plan that validates yields a compliant
picture just as a rules plan does. A caller's mistake (an unknown ``planner_model``) is not
hidden behind a fallback: it ends the job with its code."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, model_validator
from pydantic_core import PydanticCustomError

from renderhouse.errors import InvalidInput, NotFound
from renderhouse.generators.language import LanguageModelError, LanguageModels, Reply
from renderhouse.generators.render.canon import Canon
from renderhouse.generators.render.plan import Fallback, Plan, preservation_prompt, rules_plan

LLM_PLANNER = "llm-1"
MAX_TOKENS = 400
MAX_REPLY_CHARS = 20_000
"""Only the start of a reply is searched for its JSON object (bounded work on any reply)."""
MAX_OBJECTS_TRIED = 64
DISTANCE = (3.4, 8.0)
"""Bounding-sphere radii: at the plan's 35° field of view the product fits from 3.33."""
EXPOSURE = (0.7, 1.4)
"""Beyond these the brand colours wash out or sink (palette coverage would fail)."""
INSET = 0.05
"""Share of the canon's fill range kept free at each end: resampling never lands on it."""
LIGHTING = ("studio", "soft", "contrast")


def fill_range(canon: Canon) -> tuple[float, float]:
    fr = canon.framing
    span = fr.fill_max - fr.fill_min
    return round(fr.fill_min + INSET * span, 4), round(fr.fill_max - INSET * span, 4)


class Choice(BaseModel):
    """What the model decides. Checked against the canon given as validation context."""

    model_config = ConfigDict(extra="ignore")

    azimuth: float = Field(ge=-180.0, le=180.0)
    elevation: float = Field(ge=-89.0, le=89.0)
    distance: float = Field(ge=DISTANCE[0], le=DISTANCE[1])
    fill: float = Field(gt=0.0, le=1.0)
    lighting: Literal["studio", "soft", "contrast"]
    exposure: float = Field(ge=EXPOSURE[0], le=EXPOSURE[1])
    prompt: str = Field(min_length=1, max_length=1500)

    @model_validator(mode="after")
    def _inside_canon(self, info: ValidationInfo) -> Choice:
        canon = (info.context or {}).get("canon")
        if not isinstance(canon, Canon):
            return self
        fr, (lo, hi) = canon.framing, fill_range(canon)
        problems = []
        if not fr.elevation_min <= self.elevation <= fr.elevation_max:
            problems.append(
                f"elevation {self.elevation:g} is outside the canon's "
                f"{fr.elevation_min:g} to {fr.elevation_max:g}"
            )
        if not lo <= self.fill <= hi:
            problems.append(f"fill {self.fill:g} is outside the canon's {lo:g} to {hi:g}")
        if problems:
            raise PydanticCustomError("outside_canon", "; ".join(problems), {})
        return self


def reply_schema(canon: Canon) -> dict[str, Any]:
    """The JSON schema asked of the model (where its provider can enforce one)."""
    fr, (lo, hi) = canon.framing, fill_range(canon)

    def number(low: float, high: float) -> dict[str, Any]:
        return {"type": "number", "minimum": low, "maximum": high}

    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["azimuth", "elevation", "distance", "fill", "lighting", "exposure", "prompt"],
        "properties": {
            "azimuth": number(-180, 180),
            "elevation": number(fr.elevation_min, fr.elevation_max),
            "distance": number(*DISTANCE),
            "fill": number(lo, hi),
            "lighting": {"type": "string", "enum": list(LIGHTING)},
            "exposure": number(*EXPOSURE),
            "prompt": {"type": "string", "maxLength": 1500},
        },
    }


SYSTEM = (
    "You plan one studio picture of a 3D product model for a brand. You answer with one "
    "JSON object only: no prose, no code fences."
)


def messages(brief: str, canon: Canon, neutral: Plan) -> list[dict[str, str]]:
    """The request: the brief, the brand and every key with its range from the canon."""
    fr, (lo, hi) = canon.framing, fill_range(canon)
    colours = ", ".join(f"{c.hex} ({c.role})" for c in canon.palette if c.role != "forbidden")
    example = {
        "azimuth": neutral.azimuth,
        "elevation": neutral.elevation,
        "distance": neutral.distance,
        "fill": neutral.fill,
        "lighting": neutral.lighting,
        "exposure": neutral.exposure,
        "prompt": "Soft studio light with gentle reflections on the casing.",
    }
    user = f"""The customer's brief, between the markers:
<<<
{brief.strip()}
>>>
Brand: {canon.name}. Colours: {colours}.

Choose the camera, light and framing that suit the brief. Answer with one JSON object with
exactly these keys, every number inside its range:
- "azimuth": -180 to 180, degrees the product turns (0 shows its front, 90 its side, 180 its back)
- "elevation": {fr.elevation_min:g} to {fr.elevation_max:g}, camera height in degrees
- "distance": {DISTANCE[0]:g} to {DISTANCE[1]:g}, camera distance (higher = flatter perspective)
- "fill": {lo:g} to {hi:g}, the share of the picture the product spans (higher = closer)
- "lighting": "studio", "soft" or "contrast"
- "exposure": {EXPOSURE[0]:g} to {EXPOSURE[1]:g} (1 = neutral)
- "prompt": one or two sentences for an image model that refines the lighting and surface
  realism of our render; it must never change the product nor add text or logos.
A neutral plan, for the format only: {json.dumps(example)}"""
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


class ReplyInvalid(ValueError):
    """A reply that is not a plan; the message lists what is wrong, for the repair turn."""


def extract_json(text: str) -> dict[str, Any]:
    """The first JSON object in a reply, wherever it is (after prose, inside a code fence)."""
    text = text[:MAX_REPLY_CHARS]
    decoder = json.JSONDecoder()
    for i, match in enumerate(re.finditer(r"\{", text)):
        if i >= MAX_OBJECTS_TRIED:
            break
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    raise ReplyInvalid("the reply holds no JSON object")


def parse_choice(text: str, canon: Canon) -> Choice:
    data = extract_json(text)
    try:
        return Choice.model_validate(data, context={"canon": canon})
    except ValidationError as exc:
        problems = [
            (".".join(str(p) for p in e["loc"]) + ": " if e["loc"] else "") + e["msg"]
            for e in exc.errors()[:10]
        ]
        raise ReplyInvalid("; ".join(problems)) from None


def repair(asked: list[dict[str, str]], reply: str, problems: str) -> list[dict[str, str]]:
    return [
        *asked,
        {"role": "assistant", "content": reply[:4000]},
        {
            "role": "user",
            "content": f"That reply is not a valid plan: {problems}. Answer again with only "
            "the corrected JSON object: the same keys, every number inside its range.",
        },
    ]


@dataclass
class Planned:
    plan: Plan
    replies: list[Reply] = field(default_factory=list)
    cacheable: bool = True
    """False after an outage: the same request may get an LLM plan once the models are back."""


class LLMPlanner:
    """Plans with ``llm`` (``ctx.llm``) and ``model`` (None: the deployment's default)."""

    def __init__(self, llm: LanguageModels, model: str | None) -> None:
        self.llm, self.model = llm, model

    @property
    def version(self) -> str:
        """The plan-cache key's planner part: the planner's version and the model asked."""
        return f"{LLM_PLANNER}:{self.model or 'default'}"

    def plan(self, brief: str, canon: Canon) -> Planned:
        neutral = rules_plan(brief, canon)
        asked = messages(brief, canon, neutral)
        replies: list[Reply] = []
        problems = ""
        for _turn in range(2):
            try:
                reply = self._ask(asked, canon)
            except LanguageModelError as exc:
                why = Fallback(
                    code=exc.code,
                    message=f"the language model could not answer: {exc.message}"[:2000],
                )
                return Planned(neutral.model_copy(update={"fallback": why}), replies, False)
            replies.append(reply)
            try:
                choice = parse_choice(reply.text, canon)
            except ReplyInvalid as exc:
                problems = str(exc)
                asked = repair(asked, reply.text, problems)
                continue
            return Planned(self._plan_of(choice, neutral, reply.model, canon), replies)
        why = Fallback(
            code="llm_invalid_plan",
            message=f"the model's reply was not a valid plan twice (last: {problems})"[:2000],
        )
        return Planned(neutral.model_copy(update={"fallback": why}), replies)

    def _ask(self, asked: list[dict[str, str]], canon: Canon) -> Reply:
        try:
            return self.llm.complete(
                asked,
                model=self.model,
                max_tokens=MAX_TOKENS,
                temperature=0,
                json_schema=reply_schema(canon),
            )
        except NotFound as exc:  # an unknown model, run without the worker: the caller's
            raise InvalidInput(
                exc.message, code=exc.code, details={"field": "planner_model", **exc.details}
            ) from None

    @staticmethod
    def _plan_of(choice: Choice, neutral: Plan, model: str, canon: Canon) -> Plan:
        return neutral.model_copy(
            update={
                "planner": f"{LLM_PLANNER}:{model}",
                "azimuth": choice.azimuth,
                "elevation": choice.elevation,
                "distance": choice.distance,
                "fill": choice.fill,
                "lighting": choice.lighting,
                "exposure": choice.exposure,
                "prompt": f"{choice.prompt.strip()} {preservation_prompt(canon)}",
            }
        )
