"""JSON documents kept in text columns, and ids: one place so every table reads the same."""

from __future__ import annotations

import json
import secrets
from typing import Any


def dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def load(text: str | None, default: Any = None) -> Any:
    return json.loads(text) if text else default


def new_id(prefix: str) -> str:
    """``prefix_`` + 24 hex digits (fits the tables' 32-character ids)."""
    return f"{prefix}_{secrets.token_hex(12)}"
