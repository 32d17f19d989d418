"""``canon: "canon:<id>"`` (or ``"canon:<id>@<version>"``) in a ``render`` or
``render_check`` job's input, resolved at submission into the stored canon's content with
``source: "canon:<id>@<version>"``. The job row thus holds the canon it ran with and the
exact version it came from; the worker and the generator never read the canon tables (a
later replace or delete does not change a queued job). A ``source`` the caller wrote into an
inline canon is dropped: only the platform names versions."""

from __future__ import annotations

import re
from typing import Any

from renderhouse.canons import canon_rows
from renderhouse.errors import InvalidInput
from renderhouse.store.database import Store

CANON_REF = re.compile(r"^canon:(cn_[0-9a-f]{24})(?:@([1-9][0-9]{0,8}))?$")
KINDS = ("render", "render_check")


def mentions_references(data: dict[str, Any]) -> bool:
    """Whether ``data`` needs ``resolve`` (cheap: reads no database)."""
    canon = data.get("canon") if isinstance(data, dict) else None
    return isinstance(canon, str) or (isinstance(canon, dict) and "source" in canon)


def resolve(store: Store, owner: str, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with its canon reference replaced by ``owner``'s stored canon (another
    user's id is as unknown as none: 404)."""
    data = dict(data)
    canon = data.get("canon")
    if isinstance(canon, dict):
        data["canon"] = {k: v for k, v in canon.items() if k != "source"}
        return data
    match = CANON_REF.match(canon) if isinstance(canon, str) else None
    if match is None:
        raise InvalidInput(
            "input.canon must be a canon object or a stored canon's reference, "
            "'canon:cn_…' or 'canon:cn_…@<version>' (GET /v1/canons)",
            code="bad_reference",
            details={"field": "input.canon"},
        )
    version = int(match.group(2)) if match.group(2) else None
    with store.read() as conn:
        record = canon_rows.get(conn, owner, match.group(1), version)
    assert record.content is not None
    data["canon"] = {**record.content, "source": record.source}
    return data
