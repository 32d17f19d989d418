"""Maintenance duty: settle chat requests whose process died between the hold and the
settlement (killed, lost power) at their full hold, like the ledger's budget holds: the
provider may have answered and charged, so the caller pays the maximum it agreed to and
nothing more, and its credits stop being held for good. Safe on many machines at once:
``charges.settle`` records each request once (its ``model_usage`` row is unique), and the
ledger's post/void entries are unique per request."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import and_, exists, select

from renderhouse.models import charges
from renderhouse.models.charges import Charge
from renderhouse.models.usage import model_usage
from renderhouse.store.database import Store
from renderhouse.store.schema_ledger import ledger_entries

EVERY_SECONDS = 60.0
BATCH = 500
ABANDONED = {
    "key_prefix": None,
    "deployment": None,
    "source": "api",
    "job_id": None,
    "ok": False,
    "error_code": "abandoned",
    "prompt_tokens": 0,
    "completion_tokens": 0,
    "latency_ms": 0.0,
    "ttft_ms": None,
}


def expire_abandoned(store: Store, max_age: float, *, now: float | None = None) -> int:
    """Settle chat holds older than ``max_age`` seconds at their amount; how many."""
    now = time.time() if now is None else now
    e, settled = ledger_entries.c, ledger_entries.alias("settled")
    with store.begin() as conn:
        rows = conn.execute(
            select(e.job_id, e.account, e.amount, e.reason)
            .where(
                e.kind == "reserve",
                e.job_id.like("chat-%"),
                e.created_at < now - max_age,
                ~exists().where(
                    and_(settled.c.job_id == e.job_id, settled.c.kind.in_(("post", "void")))
                ),
                ~exists().where(model_usage.c.request_id == e.job_id),
            )
            .order_by(e.account, e.job_id)
            .limit(BATCH)
        ).all()
        for r in rows:
            model = str(r.reason).removeprefix("chat ")[:64] or "unknown"
            charge = Charge(str(r.job_id), str(r.account), model, int(r.amount))
            charges.settle(conn, charge, charge.amount, provider_account=None, row=ABANDONED)
    return len(rows)


def duty(store: Store, max_age: float) -> tuple[float, Callable[[], int]]:
    """The (every seconds, callable) pair ``Maintenance.extra`` runs."""

    def expire_chat_holds() -> int:
        return expire_abandoned(store, max_age)

    return min(EVERY_SECONDS, max_age / 4), expire_chat_holds
