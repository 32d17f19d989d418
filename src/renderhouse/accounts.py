"""Users and API keys.

A key reads ``rh_live_<prefix>_<secret>``: the prefix is public and finds the row, the
secret has 256 bits of entropy and only its SHA-256 is stored (a slow hash buys nothing at
that entropy), compared in constant time. Keys are shown once, at creation, and revoked by
prefix. Scopes: ``user`` (own jobs) and ``admin`` (also users and keys)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select, update

from renderhouse.errors import Conflict, InvalidInput, NotFound
from renderhouse.store.schema_auth import api_keys, users

KEY_TAG = "rh_live_"
SCOPES = ("user", "admin")
LAST_USED_RESOLUTION = 60.0  # seconds: don't turn every request into a write


@dataclass(frozen=True)
class User:
    id: str
    name: str
    org: str | None
    is_admin: bool
    scope: str = "user"
    key_prefix: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "org": self.org, "is_admin": self.is_admin}


def _user(row: Any, scope: str = "user", prefix: str | None = None) -> User:
    return User(row.id, row.name, row.org, bool(row.is_admin), scope, prefix)


def create_user(
    conn: Connection, name: str, *, org: str | None = None, is_admin: bool = False
) -> User:
    name = name.strip()
    if not name or len(name) > 255:
        raise InvalidInput("a user name is 1 to 255 characters", details={"field": "name"})
    if conn.execute(select(users.c.id).where(users.c.name == name)).first() is not None:
        raise Conflict(f"a user named {name!r} already exists", details={"name": name})
    user_id = "u_" + secrets.token_hex(12)
    conn.execute(
        users.insert().values(
            id=user_id, name=name, org=org, is_admin=is_admin, created_at=time.time()
        )
    )
    return User(user_id, name, org, is_admin)


def find_user(conn: Connection, ref: str) -> User:
    """A user by id or by name."""
    row = conn.execute(select(users).where((users.c.id == ref) | (users.c.name == ref))).first()
    if row is None or row.disabled:
        raise NotFound(f"no user {ref!r}", details={"user": ref})
    return _user(row, "admin" if row.is_admin else "user")


def list_users(conn: Connection) -> list[User]:
    return [_user(r) for r in conn.execute(select(users).order_by(users.c.created_at)).all()]


def has_admin(conn: Connection) -> bool:
    return conn.execute(select(users.c.id).where(users.c.is_admin.is_(True))).first() is not None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(conn: Connection, user: User, *, scope: str = "user", name: str = "") -> str:
    """Store a new key for ``user`` and return it in full; it is never shown again."""
    if scope not in SCOPES:
        raise InvalidInput(f"scope must be one of {', '.join(SCOPES)}", details={"field": "scope"})
    if scope == "admin" and not user.is_admin:
        raise InvalidInput(
            f"user {user.name!r} is not an admin; admin keys need an admin user",
            details={"field": "scope"},
        )
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    conn.execute(
        api_keys.insert().values(
            prefix=prefix,
            user_id=user.id,
            secret_sha256=_digest(secret),
            scope=scope,
            name=name[:255],
            created_at=time.time(),
        )
    )
    return f"{KEY_TAG}{prefix}_{secret}"


def split_key(key: str) -> tuple[str, str] | None:
    if not key.startswith(KEY_TAG):
        return None
    prefix, sep, secret = key[len(KEY_TAG) :].partition("_")
    if not sep or not prefix or not secret:
        return None
    return prefix, secret


def verify_key(conn: Connection, key: str, now: float | None = None) -> tuple[User, bool] | None:
    """(user, last-use stale) for a valid key; None for an unknown, malformed, revoked or
    disabled one. Read-only, so authentication never takes SQLite's write lock."""
    parts = split_key(key)
    if parts is None:
        return None
    prefix, secret = parts
    row = conn.execute(
        select(
            api_keys,
            users.c.name.label("user_name"),
            users.c.org,
            users.c.is_admin,
            users.c.disabled,
        )
        .join(users, users.c.id == api_keys.c.user_id)
        .where(api_keys.c.prefix == prefix)
    ).first()
    if row is None or not hmac.compare_digest(row.secret_sha256, _digest(secret)):
        return None
    if row.revoked_at is not None or row.disabled:
        return None
    now = now or time.time()
    stale = row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION
    user = User(row.user_id, row.user_name, row.org, bool(row.is_admin), row.scope, prefix)
    return user, stale


def touch_key(conn: Connection, prefix: str, now: float | None = None) -> None:
    touch_keys(conn, [prefix], now)


def touch_keys(conn: Connection, prefixes: list[str], now: float | None = None) -> None:
    """Record that these keys were used (``last_used_at``, kept to ``LAST_USED_RESOLUTION``)."""
    conn.execute(
        update(api_keys)
        .where(api_keys.c.prefix.in_(prefixes))
        .values(last_used_at=now or time.time())
    )


def live_keys(conn: Connection, prefixes: list[str]) -> dict[str, User]:
    """The users behind those of ``prefixes`` that are still valid keys (neither revoked nor
    of a disabled user), as ``verify_key`` would return them: re-checks keys whose secret
    was verified before, by prefix alone, many at once."""
    rows = conn.execute(
        select(
            api_keys.c.prefix,
            api_keys.c.user_id,
            api_keys.c.scope,
            users.c.name.label("user_name"),
            users.c.org,
            users.c.is_admin,
        )
        .join(users, users.c.id == api_keys.c.user_id)
        .where(
            api_keys.c.prefix.in_(prefixes),
            api_keys.c.revoked_at.is_(None),
            users.c.disabled.is_(False),
        )
    ).all()
    return {
        r.prefix: User(r.user_id, r.user_name, r.org, bool(r.is_admin), r.scope, r.prefix)
        for r in rows
    }


def user_by_id(conn: Connection, user_id: str, scope: str = "user") -> User | None:
    """For bearer tokens: the token's subject, if it is a live user."""
    row = conn.execute(select(users).where(users.c.id == user_id)).first()
    if row is None or row.disabled:
        return None
    if scope == "admin" and not row.is_admin:
        scope = "user"
    return _user(row, scope)


def revoke_key(conn: Connection, prefix: str, user_id: str | None = None) -> None:
    """Revoke by prefix (or by the full key); ``user_id`` limits it to that user's keys."""
    parts = split_key(prefix)
    prefix = parts[0] if parts else prefix
    stmt = update(api_keys).where(api_keys.c.prefix == prefix, api_keys.c.revoked_at.is_(None))
    if user_id is not None:
        stmt = stmt.where(api_keys.c.user_id == user_id)
    if conn.execute(stmt.values(revoked_at=time.time())).rowcount == 0:
        exists = select(api_keys.c.prefix).where(api_keys.c.prefix == prefix)
        if user_id is not None:
            exists = exists.where(api_keys.c.user_id == user_id)
        if conn.execute(exists).first() is None:
            raise NotFound(f"no API key with prefix {prefix!r}", details={"prefix": prefix})


def list_keys(conn: Connection, user_id: str | None = None) -> list[dict[str, Any]]:
    stmt = select(
        api_keys.c.prefix,
        api_keys.c.user_id,
        api_keys.c.scope,
        api_keys.c.name,
        api_keys.c.created_at,
        api_keys.c.last_used_at,
        api_keys.c.revoked_at,
    ).order_by(api_keys.c.created_at)
    if user_id is not None:
        stmt = stmt.where(api_keys.c.user_id == user_id)
    return [dict(r._mapping) for r in conn.execute(stmt).all()]


def bootstrap_admin(conn: Connection, name: str = "admin") -> str | None:
    """On a fresh install create an admin and return its key (printed once); else None."""
    if has_admin(conn):
        return None
    user = create_user(conn, name, is_admin=True)
    return create_key(conn, user, scope="admin", name="first start")
