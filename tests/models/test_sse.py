"""The SSE reader refuses oversized lines and streams, and reads every line ending."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from renderhouse.providers import ProviderProtocolError, ProviderTimeout
from renderhouse.providers.sse import events

pytestmark = pytest.mark.anyio


async def _bytes(*parts: bytes, stall: float = 0.0) -> AsyncIterator[bytes]:
    import asyncio

    for p in parts:
        yield p
    if stall:
        await asyncio.sleep(stall)


async def _all(source: AsyncIterator[bytes], **kw: int) -> list[str]:
    return [e async for e in events(source, idle=1.0, **kw)]


async def test_line_endings_comments_and_split_chunks() -> None:
    got = await _all(_bytes(b": ping\r\ndata: a\r", b"\n\r\ndata: b\rdata: c\r\r", b"data: d\n\n"))
    assert got == ["a", "b\nc", "d"]


async def test_event_cut_off_by_the_end_is_dropped() -> None:
    assert await _all(_bytes(b"data: a\n\ndata: tail")) == ["a"]


async def test_oversized_line_and_stream_are_refused() -> None:
    with pytest.raises(ProviderProtocolError):
        await _all(_bytes(b"data: " + b"x" * 100), max_line=64)
    with pytest.raises(ProviderProtocolError):
        await _all(_bytes(b"data: a\n\n" * 100), max_bytes=200)
    with pytest.raises(ProviderProtocolError):
        await _all(_bytes(b"data: \xff\xfe\n\n"))


async def test_a_stall_is_a_timeout() -> None:
    with pytest.raises(ProviderTimeout):
        async for _ in events(_bytes(b"data: a\n\n", stall=1.0), idle=0.1):
            pass
