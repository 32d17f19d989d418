"""Rate limits on the ``limits`` library: a sliding window per identity, in memory for one
process (``ratelimit_memory``: no timer threads) or in Redis (``settings.redis_url``) so
every API process shares the same counts.

The sliding-window counter (two fixed windows, the previous one weighted by how much of it
still overlaps the window ending now) costs O(1) time and memory per identity. The exact
moving window kept a timestamp per request: at 500 req/s a deployment-wide 60 s window
held 30,000 of them, and ``limits``' in-memory store re-sliced that list every 10 ms.

Three layers apply to a request: the deployment-wide limit, the caller's own (user id; the
client IP when anonymous), and a per-route one (uploads per hour). Response headers report
the tightest. When Redis is unreachable the limiter fails open or closed as
``rate_limit_fail_open`` says, logs it once per outage and reports it to readiness."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import cast

from limits import RateLimitItem, parse
from limits.storage import Storage, storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter

from renderhouse.api.errors import RateLimited, Unavailable
from renderhouse.api.ratelimit_memory import LazyMemoryStorage
from renderhouse.errors import SettingsError
from renderhouse.settings import Settings

log = logging.getLogger(__name__)

REDIS_TIMEOUT_SECONDS = 0.5


@dataclass(frozen=True)
class Rule:
    scope: str
    item: RateLimitItem


def _parse(value: str, name: str) -> RateLimitItem:
    try:
        return parse(value)
    except ValueError as exc:
        raise SettingsError(
            f"{name} {value!r} is not a rate limit; write it like '120/minute'"
        ) from exc


class RateLimiter:
    def __init__(self, settings: Settings, storage_url: str | None = None) -> None:
        url = storage_url or (settings.redis_url or "memory://")
        options = {}
        if url.startswith(("redis://", "rediss://")):
            options = {
                "socket_timeout": REDIS_TIMEOUT_SECONDS,
                "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
            }
        self.in_process = url.startswith("memory://")
        """Counts live in this process: checking never waits on I/O."""
        # In process: our storage, which expires keys lazily instead of starting a timer
        # thread per request as ``limits``' memory storage does (api/ratelimit_memory.py).
        self.storage: Storage = (
            LazyMemoryStorage()
            if self.in_process
            else cast(Storage, storage_from_string(url, **options))
        )
        self.strategy = SlidingWindowCounterRateLimiter(self.storage)
        self.fail_open = settings.rate_limit_fail_open
        self.global_rule = Rule("global", _parse(settings.rate_limit_global, "rate_limit_global"))
        self.user_rule = Rule("user", _parse(settings.rate_limit, "rate_limit"))
        self.route_rules = {
            ("POST", "/v1/uploads"): Rule(
                "uploads", _parse(settings.upload_rate_limit, "upload_rate_limit")
            )
        }
        self.healthy = True
        self.last_error: str | None = None

    def rules_for(self, method: str, path: str) -> list[Rule]:
        rules = [self.global_rule, self.user_rule]
        route = self.route_rules.get((method, path))
        if route is not None:
            rules.append(route)
        return rules

    def check(self, identity: str, method: str, path: str) -> dict[str, int]:
        """Count one request; return the headers to send, or raise RateLimited."""
        try:
            headers = self._check(identity, method, path)
        except RateLimited:
            raise
        except Exception as exc:
            return self._storage_down(exc)
        if not self.healthy:
            log.warning("rate-limit storage is reachable again")
        self.healthy, self.last_error = True, None
        return headers

    def _check(self, identity: str, method: str, path: str) -> dict[str, int]:
        tightest: tuple[int, int, int] | None = None
        for rule in self.rules_for(method, path):
            key = "all" if rule.scope == "global" else identity
            ok = self.strategy.hit(rule.item, rule.scope, key)
            stats = self.strategy.get_window_stats(rule.item, rule.scope, key)
            reset = max(0, math.ceil(stats.reset_time - time.time()))
            if not ok:
                raise RateLimited(
                    f"rate limit of {rule.item} ({rule.scope}) exceeded; retry in {reset or 1}s",
                    retry_after=max(1, reset),
                    details={"limit": str(rule.item), "scope": rule.scope},
                )
            if tightest is None or stats.remaining < tightest[1]:
                tightest = (rule.item.amount, stats.remaining, reset)
        assert tightest is not None
        return {
            "RateLimit-Limit": tightest[0],
            "RateLimit-Remaining": tightest[1],
            "RateLimit-Reset": tightest[2],
        }

    def _storage_down(self, exc: Exception) -> dict[str, int]:
        if self.healthy:
            policy = "open (unlimited)" if self.fail_open else "closed (503)"
            log.error("rate-limit storage unreachable (%s); failing %s", exc, policy)
        self.healthy, self.last_error = False, f"{type(exc).__name__}: {exc}"
        if self.fail_open:
            return {}
        raise Unavailable(
            "rate limiting is unavailable (its Redis is unreachable); retry shortly",
            code="rate_limiter_unavailable",
        )

    def ping(self) -> None:
        """Readiness: raise if the storage cannot be reached."""
        if not self.storage.check():
            raise ConnectionError(self.last_error or "rate-limit storage unreachable")
