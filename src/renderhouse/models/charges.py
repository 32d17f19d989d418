"""The money side of a chat request, on the existing ledger: before the call, hold its
maximum cost (prompt estimate * input price + max tokens * output price, at the dearest
deployment it may reach) on the caller's credits and under every budget it draws on; after
it, settle on the usage reported (or, for a broken or abandoned stream, on what was
delivered), exactly once.

Budgets are held only where a limit is set (spend without a cap is tracked per request in
``model_usage``), which keeps an uncapped request to two short transactions.

Credits: the hold is a ``reserve`` ledger entry keyed by the request id (``chat-…``) and
settles as ``post`` (capped at the hold) plus ``void`` of the rest, so ``renderhouse
credits reconcile`` proves chat requests like jobs. Budgets: unlike a job's paid call, a
chat request is admitted only if its whole maximum fits under every limit (the ledger's
"one last call may finish the budget" admission is refused here), so concurrent requests
can never spend past a budget."""

from __future__ import annotations

import secrets
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select, text
from sqlalchemy.exc import DBAPIError

from renderhouse.ledger import accounts, budgets
from renderhouse.ledger.errors import BudgetExhausted
from renderhouse.ledger.metering import budget_keys
from renderhouse.models import usage
from renderhouse.store.schema_ledger import budgets as budget_limits

# Every chat request runs these, so each is one prebuilt SQL string: building SQLAlchemy
# Core statements per request cost ~1.6 ms of CPU per request in the writer thread, more
# than the SQL (docs/benchmarks.md, LLM gateway). The ledger rows are those
# ``ledger.accounts`` writes (``hold``: a guarded debit into held plus a ``reserve`` entry).
# On SQLite they run on the driver's own connection (``_sqlite``), in the transaction
# ``Store.begin`` opened.
_DEBIT_INTO_HELD = (
    "UPDATE credit_accounts SET available = available - :amount, held = held + :amount, "
    "updated_at = :now WHERE account = :account AND available >= :amount"
)
_RESERVE_ENTRY = (
    "INSERT INTO ledger_entries (account, job_id, kind, amount, reason, created_at, round) "
    "VALUES (:account, :job_id, 'reserve', :amount, :reason, :now, 0)"
)
_CAPPED = (
    "SELECT key, period FROM budgets WHERE key = :owner OR key LIKE 'provider:%' "
    "OR key = (SELECT 'org:' || org FROM users WHERE id = :owner)"
)
"""Budget limits that may apply (provider keys are filtered to those the request may use)."""
_POST_ONCE = (
    "INSERT INTO ledger_entries (account, job_id, kind, amount, reason, created_at, round) "
    "VALUES (:account, :job_id, 'post', :amount, :reason, :now, 0) "
    "ON CONFLICT (job_id, kind, round) DO NOTHING RETURNING id"
)
_VOID = (
    "INSERT INTO ledger_entries (account, job_id, kind, amount, reason, created_at, round) "
    "VALUES (:account, :job_id, 'void', :amount, 'unused reservation', :now, 0)"
)
_RELEASE = (
    "UPDATE credit_accounts SET held = held - :held, available = available + :back, "
    "updated_at = :now WHERE account = :account"
)


def _sqlite(conn: Connection, sql: str, params: dict[str, Any]) -> list[Any]:
    """Run ``sql`` on SQLite's own connection, inside ``conn``'s transaction, and return
    its rows (``[rowcount]`` for a statement with none). SQLAlchemy's execution path
    (execution context, events, result object) cost about four times the SQL itself, on
    the writer thread that shares the GIL with the event loop (docs/benchmarks.md, LLM
    gateway). Driver errors are raised as SQLAlchemy's, as ``conn.execute`` would, so
    ``Store.begin`` still turns a locked or broken database into a ``StoreError``."""
    raw = conn.connection.driver_connection
    try:
        cursor = raw.execute(sql, params)  # type: ignore[union-attr]
        rows = cursor.fetchall() if cursor.description else [cursor.rowcount]
        cursor.close()
        return rows
    except sqlite3.Error as exc:
        raise DBAPIError.instance(sql, params, exc, sqlite3.Error) from exc


# PostgreSQL answers each statement over the network, and one writer thread runs the holds
# and settlements of all requests in turn: one round trip each for the hold (with the caps
# that may apply) and for the settlement (usage row, post, void and release) instead of six.
_HOLD_AND_CAPS_POSTGRES = text(
    f"WITH {accounts.hold_ctes()} "
    "SELECT (SELECT id FROM gate) AS held, b.key, b.period FROM (SELECT 1) AS one "
    "LEFT JOIN budgets b ON b.key = :account OR b.key LIKE 'provider:%' "
    "OR b.key = (SELECT 'org:' || org FROM users WHERE id = :account)"
)
_SETTLE_POSTGRES = text(
    f"WITH used AS ({usage.RECORD_ONCE_SQL}), "
    "posted AS (INSERT INTO ledger_entries (account, job_id, kind, amount, reason, created_at, "
    "round) SELECT :owner, :request_id, 'post', :cost, :reason, :created_at, 0 FROM used "
    "WHERE :reserved > 0 ON CONFLICT (job_id, kind, round) DO NOTHING RETURNING id), "
    "voided AS (INSERT INTO ledger_entries (account, job_id, kind, amount, reason, created_at, "
    "round) SELECT :owner, :request_id, 'void', :back, 'unused reservation', :created_at, 0 "
    "FROM posted WHERE :back > 0 RETURNING id), "
    "released AS (UPDATE credit_accounts SET held = held - :reserved, "
    "available = available + :back, updated_at = :created_at "
    "WHERE account = :owner AND EXISTS (SELECT 1 FROM posted) RETURNING account) "
    "SELECT count(*) FROM used"
)


def new_request_id() -> str:
    return "chat-" + secrets.token_hex(13)  # 31 characters: fits ledger_entries.job_id


@dataclass
class Charge:
    request_id: str
    owner: str
    model: str
    amount: int
    """Credits held (0: a free model, nothing held)."""
    holds: dict[str, str] = field(default_factory=dict)
    """Budget hold id → the budget key it is under."""
    settled: bool = False


def reserve(conn: Connection, charge: Charge, accounts_used: set[str]) -> None:
    """Hold ``charge.amount`` credits and budgets in ``conn``'s transaction, or raise
    InsufficientCredits / BudgetExhausted (and the caller rolls everything back)."""
    charge.holds = {}
    if charge.amount <= 0:
        return
    now = time.time()
    reason = f"chat {charge.model}"
    params = {"account": charge.owner, "amount": charge.amount, "now": now}
    if conn.dialect.name == "postgresql":
        rows = conn.execute(
            _HOLD_AND_CAPS_POSTGRES, {**params, "job_id": charge.request_id, "reason": reason}
        ).all()
        if rows[0].held is None:
            raise accounts.shortfall(conn, charge.owner, charge.amount)
        found = [(r.key, r.period) for r in rows if r.key is not None]
    else:
        if _sqlite(conn, _DEBIT_INTO_HELD, params) != [1]:
            raise accounts.shortfall(conn, charge.owner, charge.amount)
        _sqlite(conn, _RESERVE_ENTRY, {**params, "job_id": charge.request_id, "reason": reason})
        found = [(key, period) for key, period in _sqlite(conn, _CAPPED, {"owner": charge.owner})]
    providers = {f"provider:{a}" for a in accounts_used}
    capped = {(k, p) for k, p in found if not k.startswith("provider:") or k in providers}
    if not capped:
        return  # spend without a cap is tracked in model_usage, not held
    keys = budget_keys(conn, charge.owner, tuple(sorted(accounts_used)))
    capped = {
        (r.key, r.period)
        for r in conn.execute(
            select(budget_limits.c.key, budget_limits.c.period).where(budget_limits.c.key.in_(keys))
        )
    }
    for key in keys:
        for period in budgets.PERIODS:
            if (key, period) not in capped:
                continue
            hold = budgets.reserve_budget(conn, key, period, charge.amount, now=now)
            status = budgets.budget_status(conn, key, period, now=now)
            if status["limit"] is not None and status["spent"] + status["held"] > status["limit"]:
                raise BudgetExhausted(
                    f"the {period} budget of {key} cannot cover this request's maximum "
                    f"cost of {charge.amount} ({status['spent']} spent, "
                    f"{status['held'] - charge.amount} in flight, limit {status['limit']}); "
                    "lower max_tokens or wait",
                    details={**status, "needed": charge.amount},
                )
            charge.holds[hold.id] = key


def settle(
    conn: Connection,
    charge: Charge,
    actual: int,
    *,
    provider_account: str | None,
    row: dict[str, Any],
) -> int:
    """In ``conn``'s transaction: charge ``actual`` (capped at the hold) and record the
    usage row, once (a second settle of the same request changes nothing); returns what was
    charged. Budget holds of providers the request did not use settle at 0."""
    posted = min(max(0, actual), charge.amount)
    now = time.time()
    values = {
        "request_id": charge.request_id,
        "owner": charge.owner,
        "model": charge.model,
        "cost": posted,
        "reserved": charge.amount,
        "created_at": now,
        **row,
    }
    if conn.dialect.name == "postgresql":
        extra = {"reason": f"chat {charge.model}", "back": charge.amount - posted}
        if not conn.execute(_SETTLE_POSTGRES, {**values, **extra}).scalar_one():
            return 0
    elif not _sqlite(conn, usage.RECORD_ONCE_SQL, values):
        return 0  # recorded already: settled once before
    elif charge.amount > 0:
        _settle_credits(conn, charge, posted, now)
    if charge.amount > 0:
        used = f"provider:{provider_account}" if provider_account else None
        for hold_id, key in sorted(charge.holds.items(), key=lambda kv: (kv[1], kv[0])):
            unused_provider = key.startswith("provider:") and key != used
            budgets.settle_budget(conn, hold_id, 0 if unused_provider else posted, now=now)
    return posted


def _settle_credits(conn: Connection, charge: Charge, posted: int, now: float) -> None:
    entry = {"account": charge.owner, "job_id": charge.request_id, "now": now}
    reason = f"chat {charge.model}"
    if not _sqlite(conn, _POST_ONCE, {**entry, "amount": posted, "reason": reason}):
        return
    back = charge.amount - posted
    if back > 0:
        _sqlite(conn, _VOID, {**entry, "amount": back})
    _sqlite(
        conn, _RELEASE, {"account": charge.owner, "held": charge.amount, "back": back, "now": now}
    )
