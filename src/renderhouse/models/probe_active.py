"""The opt-in active health probe: for each deployment with ``active_probe_seconds`` set, a
``max_tokens=1`` completion at most once per interval across the whole cluster (the lease
in ``probe_leases``). Its tokens cost real money, so they are recorded — a ``model_usage``
row of source ``probe`` owned by ``system:probe``, its cost at the deployment's prices —
and charged to nobody's credits. Its answer feeds the deployment's health in every process
(the winner's from the call, the others' from the row). Off by default: health then costs
zero tokens."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time

from renderhouse.models import probe_leases, usage
from renderhouse.models.deployments import Deployment
from renderhouse.models.registry import ModelRegistry
from renderhouse.providers.base import ChatRequest, Completion
from renderhouse.providers.errors import ProviderError
from renderhouse.store.database import Store

log = logging.getLogger(__name__)

OWNER = "system:probe"
"""Whose usage rows the probes are: no user, so no credits and no budgets."""
SOURCE = "probe"
PROMPT = [{"role": "user", "content": "ping"}]
MAX_TICK_SECONDS = 30.0


def this_process() -> str:
    """The lease holder's name: host and process id."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}"


class ActiveProbes:
    def __init__(self, registry: ModelRegistry, store: Store, holder: str | None = None) -> None:
        self.registry, self.store = registry, store
        self.holder = holder or this_process()
        self.applied: dict[str, float] = {}
        """Deployment id → time of the last answer shown in its health."""

    @property
    def targets(self) -> list[Deployment]:
        return [d for d in self.registry.deployments if d.active_probe_seconds]

    async def run_once(self) -> int:
        """Probe each opted-in deployment whose lease this process wins, then show every
        deployment's latest answer; how many completions this process sent."""
        targets = self.targets
        if not targets:
            return 0
        won = await asyncio.to_thread(self._claim, targets)
        done = await asyncio.gather(*(self._probe(d, at) for d, at in won), return_exceptions=True)
        for (d, _), outcome in zip(won, done, strict=True):
            if isinstance(outcome, Exception):  # its answer is in its health; the row missed it
                log.warning("active probe of %s not recorded: %r", d.id, outcome)
        await self._apply(targets)
        return len(won)

    async def run_forever(self) -> None:
        """Try every quarter of the shortest interval (a lease not taken in time only
        delays the probe), at most every ``MAX_TICK_SECONDS``."""
        while True:
            targets = self.targets
            if not targets:
                return
            try:
                await self.run_once()
            except Exception as exc:  # the store may be down: health goes on without it
                log.warning("active probe round failed: %r", exc)
            shortest = min(d.active_probe_seconds or MAX_TICK_SECONDS for d in targets)
            await asyncio.sleep(min(MAX_TICK_SECONDS, shortest / 4))

    def _claim(self, targets: list[Deployment]) -> list[tuple[Deployment, float]]:
        won = []
        with self.store.begin() as conn:
            for d in sorted(targets, key=lambda d: d.id):  # one lock order everywhere
                at = probe_leases.claim(conn, d.id, d.active_probe_seconds or 0, self.holder)
                if at is not None:
                    won.append((d, at))
        return won

    async def _probe(self, deployment: Deployment, lease: float) -> None:
        request = ChatRequest(deployment.settings.upstream, PROMPT, max_tokens=1, temperature=0)
        timeout = min(30.0, deployment.settings.timeout_seconds)
        t0 = time.monotonic()
        done: Completion | None = None
        error: ProviderError | None = None
        try:
            done = await deployment.provider.complete(request, timeout=timeout)
        except ProviderError as exc:
            error = exc
        except Exception as exc:  # a probe must never take the prober down
            log.warning("active probe of %s failed: %r", deployment.id, exc)
            error = ProviderError(f"internal error: {type(exc).__name__}")
        latency = time.monotonic() - t0
        ok = error is None
        message = None if error is None else error.message
        deployment.health.active_probed(ok, message, latency if ok else None)
        prompt = done.usage.prompt_tokens if done else 0
        completion = done.usage.completion_tokens if done else 0
        row = {
            "request_id": "probe-" + secrets.token_hex(13),
            "owner": OWNER,
            "key_prefix": None,
            "model": deployment.model,
            "deployment": deployment.id,
            "source": SOURCE,
            "job_id": None,
            "ok": ok,
            "error_code": None if error is None else error.code,
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "cost": deployment.cost(prompt, completion),
            "reserved": 0,
            "latency_ms": latency * 1000,
            "ttft_ms": None,
            "created_at": time.time(),
        }

        def write() -> None:
            with self.store.begin() as conn:
                usage.record(conn, **row)
                probe_leases.record(
                    conn,
                    deployment.id,
                    self.holder,
                    at=lease,
                    ok=ok,
                    error=message,
                    latency=latency if ok else None,
                )

        await asyncio.to_thread(write)
        self.applied[deployment.id] = lease

    async def _apply(self, targets: list[Deployment]) -> None:
        def read() -> dict[str, probe_leases.ProbeResult]:
            with self.store.read() as conn:
                return probe_leases.results(conn)

        found = await asyncio.to_thread(read)
        for d in targets:
            r = found.get(d.id)
            if r is None or r.at <= self.applied.get(d.id, float("-inf")):
                continue
            d.health.active_probed(r.ok, r.error, r.latency, at=r.at)
            self.applied[d.id] = r.at
