"""Prove the books: the cached balances equal what the ledger says, and every paid job's
money moved exactly as the lifecycle says it must, round by round (a manual retry opens a
new round). Read-only; run it any time."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, case, func, select

from renderhouse.queue.jobs import SUCCEEDED, TERMINAL
from renderhouse.store.schema import jobs
from renderhouse.store.schema_ledger import credit_accounts, ledger_entries

MAX_LISTED = 50
"""Problems listed per check; the count is always exact."""


@dataclass
class Report:
    accounts: int = 0
    entries: int = 0
    paid_jobs: int = 0
    available: int = 0
    held: int = 0
    problems: list[str] = field(default_factory=list)
    problem_count: int = 0

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    def problem(self, message: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_LISTED:
            self.problems.append(message)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "accounts": self.accounts,
            "entries": self.entries,
            "paid_jobs": self.paid_jobs,
            "available": self.available,
            "held": self.held,
            "problem_count": self.problem_count,
            "problems": self.problems,
        }


def _sum_of(*kinds: str, sign: int = 1) -> Any:
    return case((ledger_entries.c.kind.in_(kinds), ledger_entries.c.amount * sign), else_=0)


def reconcile(conn: Connection) -> Report:
    report = Report()
    _balances(conn, report)
    _jobs(conn, report)
    return report


def _balances(conn: Connection, report: Report) -> None:
    e = ledger_entries.c
    derived = {
        r.account: (int(r.available), int(r.held), int(r.n))
        for r in conn.execute(
            select(
                e.account,
                func.sum(
                    _sum_of("grant", "purchase", "adjustment", "void") + _sum_of("reserve", sign=-1)
                ).label("available"),
                func.sum(_sum_of("reserve") + _sum_of("post", "void", sign=-1)).label("held"),
                func.count().label("n"),
            ).group_by(e.account)
        ).all()
    }
    cached = {
        r.account: (int(r.available), int(r.held))
        for r in conn.execute(
            select(credit_accounts.c.account, credit_accounts.c.available, credit_accounts.c.held)
        ).all()
    }
    report.accounts = len(set(derived) | set(cached))
    report.entries = sum(n for _, _, n in derived.values())
    for account in sorted(set(derived) | set(cached)):
        want = derived.get(account, (0, 0, 0))[:2]
        have = cached.get(account, (0, 0))
        report.available += have[0]
        report.held += have[1]
        if want != have:
            report.problem(
                f"account {account}: cached available/held {have[0]}/{have[1]} but the ledger "
                f"says {want[0]}/{want[1]}"
            )
        if want[0] < 0 or want[1] < 0:
            report.problem(f"account {account}: the ledger derives a negative balance {want}")


Rounds = dict[int, dict[str, int]]
"""A job's entries per round: kind → amount, and ``n_<kind>`` → how many."""


def _jobs(conn: Connection, report: Report) -> None:
    e = ledger_entries.c
    money: dict[str, Rounds] = {}
    for r in conn.execute(
        select(
            e.job_id, e.round, e.kind, func.count().label("n"), func.sum(e.amount).label("amount")
        )
        .where(e.job_id.is_not(None))
        .group_by(e.job_id, e.round, e.kind)
    ).all():
        slot = money.setdefault(r.job_id, {}).setdefault(int(r.round), {})
        slot[r.kind] = int(r.amount)
        slot[f"n_{r.kind}"] = int(r.n)
    paid = {
        r.id: (r.state, int(r.cost_reserved))
        for r in conn.execute(
            select(jobs.c.id, jobs.c.state, jobs.c.cost_reserved).where(jobs.c.cost_reserved > 0)
        ).all()
    }
    orphans = set(money) - set(paid)
    if orphans:  # entries of jobs that are free, pruned or missing: look them up
        for chunk in _chunks(sorted(orphans), 500):
            for r in conn.execute(
                select(jobs.c.id, jobs.c.state, jobs.c.cost_reserved).where(jobs.c.id.in_(chunk))
            ).all():
                paid[r.id] = (r.state, int(r.cost_reserved))
    report.paid_jobs = len(paid)
    for job_id in sorted(set(money) | set(paid)):
        _job(report, job_id, paid.get(job_id), money.get(job_id, {}))


def _job(report: Report, job_id: str, job: tuple[str, int] | None, rounds: Rounds) -> None:
    """Every round but the latest is settled; the latest is settled exactly when the job
    is terminal (a manual retry reserves the next round in the retry's transaction)."""
    if not rounds:
        if job is not None and job[1] > 0:
            report.problem(f"job {job_id}: reserves {job[1]} but has no reservation entry")
        return
    latest = max(rounds)
    if sorted(rounds) != list(range(latest + 1)):
        report.problem(f"job {job_id}: rounds {sorted(rounds)} have a gap")
    for n in sorted(rounds):
        _round(report, job_id, job, n, rounds[n], latest=n == latest)


def _round(
    report: Report,
    job_id: str,
    job: tuple[str, int] | None,
    n: int,
    m: dict[str, int],
    *,
    latest: bool,
) -> None:
    what = "reservation" if n == 0 else f"round {n} reservation"
    for kind in ("reserve", "post", "void"):
        if m.get(f"n_{kind}", 0) > 1:
            report.problem(f"job {job_id}: {m[f'n_{kind}']} {kind} entries in round {n}")
    reserved, posted, voided = m.get("reserve"), m.get("post"), m.get("void")
    settled = posted is not None or voided is not None
    if reserved is None:
        if settled:
            report.problem(f"job {job_id}: posted or voided without a {what}")
        elif job is not None and job[1] > 0:
            report.problem(f"job {job_id}: reserves {job[1]} but has no {what} entry")
        return
    if job is None:
        if not settled:
            report.problem(f"job {job_id}: {what} of {reserved} outlived its job")
        return
    state, cost_reserved = job
    if cost_reserved != reserved:
        report.problem(f"job {job_id}: job says {cost_reserved} reserved, the {what} {reserved}")
    if settled and (posted or 0) + (voided or 0) != reserved:
        report.problem(
            f"job {job_id}: post {posted} + void {voided} does not settle {what} {reserved}"
        )
    if not latest:
        if not settled:
            report.problem(f"job {job_id}: {what} {reserved} is still held after a later round")
        return
    if state in TERMINAL and not settled:
        report.problem(f"job {job_id} is {state} but its {what} {reserved} is still held")
    if state not in TERMINAL and settled:
        report.problem(f"job {job_id} is {state} but its {what} was settled: a free rerun")
    if state in TERMINAL and state != SUCCEEDED and posted is not None:
        report.problem(f"job {job_id} is {state} but was charged {posted}")


def _chunks(items: list[str], n: int) -> list[list[str]]:
    return [items[i : i + n] for i in range(0, len(items), n)]
