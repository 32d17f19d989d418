"""The API as a real server process (``uvicorn --factory``, configured only by environment,
as operators run it), and a bare-socket SSE client cheap enough to hold thousands of."""

from __future__ import annotations

import asyncio
import json
import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from renderhouse import accounts
from renderhouse.store.database import Store
from renderhouse.store.migrate import upgrade

SECRET = "test-secret-key-0123456789abcdef-xyz"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def raise_open_files(wanted: int) -> int:
    """Raise this process's soft RLIMIT_NOFILE (children inherit it); returns the new one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return max(soft, target)


def prepare_database(url: str) -> tuple[str, str]:
    """Migrate ``url``; returns the id and an API key of a new user."""
    store = Store(url)
    try:
        upgrade(store)
        with store.begin() as conn:
            user = accounts.create_user(conn, "streamer")
            return user.id, accounts.create_key(conn, user)
    finally:
        store.dispose()


def api_env(data_dir: Path, database_url: str, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RENDERHOUSE_")}
    env.update(
        RENDERHOUSE_DATABASE_URL=database_url,
        RENDERHOUSE_DATA_DIR=str(data_dir),
        RENDERHOUSE_SECRET_KEY=SECRET,
        RENDERHOUSE_RATE_LIMIT="100000000/minute",
        RENDERHOUSE_RATE_LIMIT_GLOBAL="100000000/minute",
        RENDERHOUSE_LOG_LEVEL="WARNING",
    )
    env.update({f"RENDERHOUSE_{k.upper()}": v for k, v in settings.items()})
    return env


@contextmanager
def api_process(env: dict[str, str], log: Path) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """A uvicorn server on a free port, stopped (and reaped) on exit."""
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "renderhouse.api.app:from_environment",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--backlog",
                "4096",
                "--timeout-graceful-shutdown",
                "2",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=1).is_success:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the API did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.1)
            yield port, proc
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


class SseStream:
    """One ``GET /v1/jobs/{id}/events`` on a raw socket."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int, job_id: str, key: str, after: int | None = None) -> SseStream:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        query = f"?after={after}" if after is not None else ""
        writer.write(
            f"GET /v1/jobs/{job_id}/events{query} HTTP/1.1\r\nHost: test\r\n"
            f"Authorization: Bearer {key}\r\nAccept: text/event-stream\r\n\r\n".encode()
        )
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            writer.close()
            raise AssertionError(head.decode(errors="replace"))
        return cls(reader, writer)

    async def next_event(self) -> dict[str, Any]:
        """The next event (keep-alives and the retry hint skipped), chunk framing undone."""
        fields: dict[str, str] = {}
        while True:
            line = await self._line()
            if line == "":
                if "id" in fields:
                    return {"id": int(fields["id"]), "type": fields["event"]} | json.loads(
                        fields["data"]
                    )
                fields = {}
            elif not line.startswith(":") and ":" in line:
                name, _, value = line.partition(":")
                fields[name] = value.strip()

    async def _line(self) -> str:
        # Chunked transfer: a chunk-size line, then SSE text; sizes are hex-only lines.
        while True:
            raw = (await self.reader.readuntil(b"\n")).decode().rstrip("\r\n")
            if raw and all(c in "0123456789abcdefABCDEF" for c in raw) and ":" not in raw:
                continue
            return raw

    def close(self) -> None:
        self.writer.close()
