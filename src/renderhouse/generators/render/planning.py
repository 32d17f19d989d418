"""Which planner makes a job's plan, through the plan cache, and what the job reports about
it: the planner asked for and the one that made the plan, a fallback's code and sentence,
and the language-model calls this job paid for (none on a cache hit)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from renderhouse.generators.language import Reply
from renderhouse.generators.render.canon import Canon
from renderhouse.generators.render.llm_planner import LLMPlanner
from renderhouse.generators.render.plan import RULES_PLANNER, Plan, rules_plan
from renderhouse.generators.render.plan_cache import PlanCache, plan_key


@dataclass
class Planning:
    plan: Plan
    hit: bool
    """Whether the plan came from the cache."""
    requested: str = "rules"
    replies: list[Reply] = field(default_factory=list)

    @property
    def cost(self) -> int:
        """Credits this job's language-model calls cost."""
        return sum(r.cost for r in self.replies)

    def summary(self) -> dict[str, Any]:
        fallback = self.plan.fallback
        return {
            "requested": self.requested,
            "planner": self.plan.planner,
            "used": "rules" if self.plan.planner == RULES_PLANNER else "llm",
            "fallback": fallback.model_dump() if fallback is not None else None,
            "cache_hit": self.hit,
            "llm_calls": len(self.replies),
            "prompt_tokens": sum(r.prompt_tokens for r in self.replies),
            "completion_tokens": sum(r.completion_tokens for r in self.replies),
            "cost_credits": self.cost,
        }


def plan_for(
    brief: str, canon: Canon, digest: str, cache: PlanCache, llm: LLMPlanner | None = None
) -> Planning:
    """The plan for (brief, canon, model digest) by the rules planner, or by ``llm`` when
    given; cached under the planner's version (and model), so the same request is planned
    once. A fallback after invalid replies is cached too (the same request would get the
    same replies at temperature 0); one after an outage is not."""
    key = plan_key(brief, canon, digest, llm.version if llm is not None else RULES_PLANNER)
    requested = "rules" if llm is None else "llm"
    cached = cache.get(key)
    if cached is not None:
        return Planning(cached, True, requested)
    if llm is None:
        plan = rules_plan(brief, canon)
        cache.put(key, plan)
        return Planning(plan, False)
    planned = llm.plan(brief, canon)
    if planned.cacheable:
        cache.put(key, planned.plan)
    return Planning(planned.plan, False, requested, planned.replies)
