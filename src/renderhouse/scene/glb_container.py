"""Split a GLB into its JSON and BIN chunks (glTF 2.0 §4.4, "Binary glTF Layout").

Strict where a lie would make us read past the data (every length is checked against the
bytes really present, and a truncated file says what was declared and what is there), and
lenient where common writers break the letter of the spec but the meaning is unambiguous:

- a chunk length that is not a multiple of 4 followed directly by the next chunk header
  (§4.4.3.1 wants padding; trimesh has written such files and three.js reads them without
  aligning) is read the way three.js reads it, with a warning;
- bytes after the length the header declares are ignored, with a warning;
- chunks of an unknown type are skipped, as §4.4.3 says a reader must (a second JSON or BIN
  chunk is refused: three.js uses the last, others the first).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from renderhouse.errors import ModelError

GLB_MAGIC = b"glTF"
CHUNK_JSON = 0x4E4F534A
CHUNK_BIN = 0x004E4942
HEADER = 12
CHUNK_HEADER = 8


@dataclass
class GlbParts:
    json: bytes
    binary: bytes | None
    warnings: list[str] = field(default_factory=list)


def _fail(code: str, message: str, **details: object) -> ModelError:
    return ModelError(message, code=code, details=details)


def _name(chunk_type: int) -> str:
    return {CHUNK_JSON: "JSON", CHUNK_BIN: "BIN"}.get(chunk_type, f"0x{chunk_type:08x}")


def _plausible(data: bytes, offset: int, end: int) -> bool:
    """A known chunk header that fits before ``end`` starts at ``offset``."""
    if offset + CHUNK_HEADER > end:
        return False
    length, kind = struct.unpack_from("<II", data, offset)
    return kind in (CHUNK_JSON, CHUNK_BIN) and offset + CHUNK_HEADER + length <= end


def _next_offset(data: bytes, end: int, after: int, index: int, warnings: list[str]) -> int:
    """Where the chunk after the one ending at ``after`` starts: aligned per the spec, or
    unaligned as three.js reads it when only that reading finds a chunk there."""
    aligned = after + (-after) % 4
    if aligned == after or aligned >= end or _plausible(data, aligned, end):
        return aligned
    if _plausible(data, after, end):
        warnings.append(
            f"GLB chunk {index} has a length that is not a multiple of 4 and no padding "
            "(glTF 2.0 §4.4.3.1); read the way three.js and trimesh read it"
        )
        return after
    return aligned


def split_glb(data: bytes) -> GlbParts:
    """The JSON chunk and the first BIN chunk of ``data``, which starts with ``glTF``."""
    if len(data) < HEADER + CHUNK_HEADER:
        raise _fail(
            "truncated_file",
            f"the GLB is {len(data)} bytes; its header and first chunk header alone take "
            f"{HEADER + CHUNK_HEADER}",
            declared=HEADER + CHUNK_HEADER,
            present=len(data),
        )
    magic, version, length = struct.unpack_from("<4sII", data, 0)
    if magic != GLB_MAGIC:
        raise _fail("not_gltf", "the file does not start with the GLB magic 'glTF'")
    if version != 2:
        raise _fail("unsupported_version", f"GLB version {version} is not supported; need 2")
    if length > len(data):
        raise _fail(
            "truncated_file",
            f"the GLB header declares {length} bytes but the file has {len(data)} "
            f"({length - len(data)} missing); the file was cut short",
            declared=length,
            present=len(data),
        )
    if length < HEADER + CHUNK_HEADER:
        raise _fail("bad_chunk", f"the GLB header declares an impossible length {length}")
    warnings: list[str] = []
    if length < len(data):
        warnings.append(
            f"{len(data) - length} bytes after the GLB's declared length {length} are ignored"
        )
    chunks: list[tuple[int, bytes]] = []
    offset = HEADER
    while offset < length:
        if offset + CHUNK_HEADER > length:
            raise _fail(
                "truncated_file",
                f"the GLB ends inside the header of chunk {len(chunks)} at byte {offset} "
                f"({length - offset} of {CHUNK_HEADER} bytes present)",
                declared=offset + CHUNK_HEADER,
                present=length,
            )
        chunk_len, chunk_type = struct.unpack_from("<II", data, offset)
        start = offset + CHUNK_HEADER
        if start + chunk_len > length:
            raise _fail(
                "truncated_file",
                f"GLB chunk {len(chunks)} ({_name(chunk_type)}) at byte {offset} declares "
                f"{chunk_len} bytes but only {length - start} remain in the file",
                chunk=len(chunks),
                declared=chunk_len,
                present=length - start,
            )
        if chunk_type in (CHUNK_JSON, CHUNK_BIN) and any(t == chunk_type for t, _ in chunks):
            raise _fail(
                "bad_chunk",
                f"the GLB has a second {_name(chunk_type)} chunk (chunk {len(chunks)}); "
                "glTF 2.0 §4.4.3 allows one, and readers disagree on which to use",
            )
        chunks.append((chunk_type, data[start : start + chunk_len]))
        offset = _next_offset(data, length, start + chunk_len, len(chunks) - 1, warnings)
    if chunks[0][0] != CHUNK_JSON or not chunks[0][1]:
        raise _fail("bad_chunk", "the first GLB chunk must be a non-empty JSON chunk")
    binary = next((c for t, c in chunks[1:] if t == CHUNK_BIN), None)
    return GlbParts(chunks[0][1], binary, warnings)
