"""An avatar's usage history: the ``pose`` jobs that ran with its upload (whether submitted
as ``avatar:<id>`` or as the upload itself), each with its poses and the credits the ledger
reserved, posted and voided for it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from renderhouse.store.schema import jobs
from renderhouse.store.schema_ledger import ledger_entries


@dataclass(frozen=True)
class Use:
    job_id: str
    state: str
    poses: list[str]
    reserved: int
    posted: int
    voided: int
    created_at: float
    finished_at: float | None


def _poses(data: dict[str, Any]) -> list[str]:
    names = [str(n) for n in data.get("poses") or []]
    return names + [str(p.get("name", "custom")) for p in data.get("custom_poses") or []]


def uses(
    conn: Connection, owner: str, upload_id: str, *, offset: int, limit: int
) -> tuple[list[Use], int]:
    """(one page newest first, the total) of ``owner``'s pose jobs on ``upload_id``."""
    ref = f"upload:{upload_id}"
    where = (
        jobs.c.owner == owner,
        jobs.c.kind == "pose",
        jobs.c.input.contains(json.dumps(ref), autoescape=True),
    )
    total = conn.execute(select(func.count()).select_from(jobs).where(*where)).scalar_one()
    rows = conn.execute(
        select(jobs.c.id, jobs.c.state, jobs.c.input, jobs.c.created_at, jobs.c.finished_at)
        .where(*where)
        .order_by(jobs.c.created_at.desc(), jobs.c.id)
        .offset(offset)
        .limit(limit)
    ).all()
    ids = [r.id for r in rows]
    money: dict[tuple[str, str], int] = {}
    if ids:
        for job_id, kind, amount in conn.execute(
            select(
                ledger_entries.c.job_id, ledger_entries.c.kind, func.sum(ledger_entries.c.amount)
            )
            .where(ledger_entries.c.job_id.in_(ids))
            .group_by(ledger_entries.c.job_id, ledger_entries.c.kind)
        ):
            money[(job_id, kind)] = int(amount)
    out = []
    for r in rows:
        data = json.loads(r.input)
        if data.get("avatar") != ref:  # the reference in some other field: not this avatar's
            continue
        out.append(
            Use(
                job_id=r.id,
                state=r.state,
                poses=_poses(data),
                reserved=money.get((r.id, "reserve"), 0),
                posted=money.get((r.id, "post"), 0),
                voided=money.get((r.id, "void"), 0),
                created_at=r.created_at,
                finished_at=r.finished_at,
            )
        )
    return out, int(total)
