"""Per-user and per-key limits on LLM use: tokens a minute per user, and requests and
tokens a minute per API key, counted in the API's rate-limit storage (in process, or Redis
when ``RENDERHOUSE_REDIS_URL`` is set, so every API process shares them). A request is let
in while its prompt fits in what is left of the window and counted at its real size when
it ends, so a window overshoots by at most the requests in flight."""

from __future__ import annotations

import math
import time

from limits import RateLimitItemPerMinute
from limits.strategies import RateLimiter

from renderhouse.accounts import User
from renderhouse.errors import RenderhouseError
from renderhouse.models.config import LLMSettings


class TokenLimitExceeded(RenderhouseError):
    code = "token_limit_exceeded"
    http_status = 429

    def __init__(self, message: str, *, retry_after: int, details: dict[str, object]) -> None:
        super().__init__(message, details={**details, "retry_after": retry_after})
        self.retry_after = retry_after


class TokenLimits:
    def __init__(self, settings: LLMSettings, strategy: RateLimiter) -> None:
        self.strategy = strategy
        self.rules = [
            (scope, RateLimitItemPerMinute(amount), unit)
            for scope, amount, unit in (
                ("llm-user-tokens", settings.user_tokens_per_minute, "tokens"),
                ("llm-key-tokens", settings.key_tokens_per_minute, "tokens"),
                ("llm-key-requests", settings.key_requests_per_minute, "requests"),
            )
            if amount
        ]

    def _who(self, scope: str, user: User) -> str:
        return user.id if scope == "llm-user-tokens" else (user.key_prefix or f"user:{user.id}")

    def admit(self, user: User, prompt_tokens: int) -> None:
        """Raise TokenLimitExceeded (429, Retry-After) if a window has no room; a request
        counts once against the request limits here."""
        for scope, item, unit in self.rules:
            who = self._who(scope, user)
            cost = 1 if unit == "requests" else max(1, min(prompt_tokens, item.amount))
            room = (
                self.strategy.hit(item, scope, who)
                if unit == "requests"
                else self.strategy.test(item, scope, who, cost=cost)
            )
            if not room:
                stats = self.strategy.get_window_stats(item, scope, who)
                wait = max(1, math.ceil(stats.reset_time - time.time()))
                raise TokenLimitExceeded(
                    f"the limit of {item.amount} {unit} a minute ({scope.removeprefix('llm-')}) "
                    f"is used up; retry in {wait} s",
                    retry_after=wait,
                    details={"scope": scope, "limit": item.amount, "unit": unit},
                )

    def count(self, user: User, tokens: int) -> None:
        """Count a finished request's tokens (capped at a window, which is what it can
        block)."""
        for scope, item, unit in self.rules:
            if unit == "tokens" and tokens > 0:
                self.strategy.hit(
                    item, scope, self._who(scope, user), cost=min(tokens, item.amount)
                )
