"""Reading a provider's Server-Sent Events stream (WHATWG HTML §9.2 "Server-sent events")
in bounded memory: every ``data`` payload of an event, a line longer than ``max_line`` or
a stream longer than ``max_bytes`` refused, a stall longer than ``idle`` a timeout."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from renderhouse.providers.errors import ProviderProtocolError, ProviderTimeout

MAX_LINE = 1 << 20
MAX_STREAM = 64 << 20


async def events(
    chunks: AsyncIterator[bytes],
    *,
    idle: float,
    max_line: int = MAX_LINE,
    max_bytes: int = MAX_STREAM,
) -> AsyncIterator[str]:
    """The ``data`` of each event (multi-line data joined by newlines); comments and other
    fields are skipped. Ends when the byte stream ends (the caller judges whether that was
    early); a last event without its blank line is dropped."""
    buffer = b""
    total = 0
    data: list[str] = []
    iterator = chunks.__aiter__()
    while True:
        try:
            chunk = await asyncio.wait_for(iterator.__anext__(), idle)
        except StopAsyncIteration:
            break
        except TimeoutError:
            raise ProviderTimeout(
                f"the provider sent nothing for {idle:g} s in the middle of a stream",
                details={"idle_seconds": idle},
            ) from None
        total += len(chunk)
        if total > max_bytes:
            raise ProviderProtocolError(
                f"the provider's stream passed {max_bytes} bytes", details={"limit": max_bytes}
            )
        buffer += chunk
        while True:
            cut = _line_end(buffer)
            if cut is None:
                break
            end, skip = cut
            raw, buffer = buffer[:end], buffer[end + skip :]
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise ProviderProtocolError("the provider's stream is not UTF-8") from None
            if line == "":
                if data:
                    yield "\n".join(data)
                    data = []
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            if name == "data":
                data.append(value[1:] if value.startswith(" ") else value)
        if len(buffer) > max_line:
            raise ProviderProtocolError(
                f"the provider sent a stream line longer than {max_line} bytes",
                details={"limit": max_line},
            )
    # An event cut off by the end of the stream is never dispatched (WHATWG: "pending data
    # must be discarded").


def _line_end(buffer: bytes) -> tuple[int, int] | None:
    """Where the first line ends (CRLF, LF or CR) and the terminator's length."""
    lf, cr = buffer.find(b"\n"), buffer.find(b"\r")
    if cr == -1 and lf == -1:
        return None
    if cr == -1 or (lf != -1 and lf < cr):
        return lf, 1
    if cr + 1 < len(buffer):
        return cr, 2 if buffer[cr + 1 : cr + 2] == b"\n" else 1
    return None  # a lone CR at the end: wait to see whether LF follows
