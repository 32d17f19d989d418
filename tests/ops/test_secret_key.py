"""The secret key (issue 14): the public default never signs anything; without a configured
key a fresh data directory gets its own (owner-only); rotation invalidates what the old key
signed; split nodes without a key refuse to start."""

from __future__ import annotations

import asyncio
import stat
import time
from pathlib import Path

import httpx
import jwt
import pytest
from click.testing import CliRunner

from renderhouse import accounts
from renderhouse.api import create_app
from renderhouse.api.artifacts import signed_url
from renderhouse.cli import main
from renderhouse.errors import SettingsError
from renderhouse.ops import secret_key
from renderhouse.runtime import Runtime
from renderhouse.settings import DEFAULT_SECRET, Settings


def _get(rt: Runtime, path: str, token: str | None = None) -> httpx.Response:
    app = create_app(rt.settings, rt)

    async def go() -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            try:
                return await c.get(path, headers=headers)
            finally:
                await app.state.rh.close()

    return asyncio.run(go())


def _token(key: str, sub: str) -> str:
    return jwt.encode({"sub": sub, "exp": int(time.time()) + 600}, key, "HS256")


def test_a_fresh_data_directory_gets_its_own_private_key(tmp_path: Path) -> None:
    data = tmp_path / "data"
    rt = Runtime(Settings(data_dir=data))
    try:
        key = rt.settings.secret_key
        assert key != DEFAULT_SECRET and len(key) >= 48
        stored = data / "secret_key"
        assert stored.read_text().strip() == key
        assert stat.S_IMODE(stored.stat().st_mode) == 0o600
        assert Runtime(Settings(data_dir=data)).settings.secret_key == key, "kept across starts"
        assert Runtime(Settings(data_dir=tmp_path / "other")).settings.secret_key != key
    finally:
        rt.close()


def test_the_public_default_signs_nothing(tmp_path: Path) -> None:
    rt = Runtime(Settings(data_dir=tmp_path / "data"))
    try:
        rt.prepare_store(create_if_empty=True)
        with rt.store.begin() as conn:
            user = accounts.create_user(conn, "alice")
        forged = _token(DEFAULT_SECRET, user.id)
        assert _get(rt, "/v1/jobs", forged).status_code == 401
        assert _get(rt, "/v1/jobs", _token(rt.settings.secret_key, user.id)).status_code == 200
        link = signed_url(DEFAULT_SECRET, "0" * 32, "out.png", 60)
        assert _get(rt, link).status_code == 403
    finally:
        rt.close()


def test_rotation_ends_old_tokens_and_links(tmp_path: Path) -> None:
    data = tmp_path / "data"
    before = Runtime(Settings(data_dir=data))
    before.prepare_store(create_if_empty=True)
    with before.store.begin() as conn:
        user = accounts.create_user(conn, "alice")
    old_key = before.settings.secret_key
    old_token = _token(old_key, user.id)
    assert _get(before, "/v1/jobs", old_token).status_code == 200
    before.close()
    result = CliRunner().invoke(main, ["--data-dir", str(data), "secret", "rotate"])
    assert result.exit_code == 0, result.output
    after = Runtime(Settings(data_dir=data))
    try:
        assert after.settings.secret_key != old_key
        assert stat.S_IMODE((data / "secret_key").stat().st_mode) == 0o600
        assert _get(after, "/v1/jobs", old_token).status_code == 401
        old_link = signed_url(old_key, "0" * 32, "out.png", 60)
        assert _get(after, old_link).status_code == 403
        fresh = _token(after.settings.secret_key, user.id)
        assert _get(after, "/v1/jobs", fresh).status_code == 200
    finally:
        after.close()


def test_split_nodes_without_a_key_refuse(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with pytest.raises(SettingsError, match="RENDERHOUSE_SECRET_KEY"):
        secret_key.resolve(Settings(data_dir=data), create=False)
    for command in ("api", "worker"):
        result = CliRunner().invoke(main, ["--data-dir", str(data), command])
        assert result.exit_code == 2 and "no secret key" in result.output, result.output
    assert not (data / "secret_key").exists()
