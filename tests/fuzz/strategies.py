"""Hypothesis strategies for hostile inputs, structure-aware: they start from the valid
models of ``tests.fuzz.models`` and change what a parser reads (a field's type or range, a
reference, a chunk length, a zip header flag), so most cases get past the first check and
exercise the next one. Shared by the CI fuzz tests and ``benchmarks/fuzz.py``.
"""

from __future__ import annotations

import copy
import io
import json
import struct
import zipfile
import zlib
from typing import Any

from hypothesis import strategies as st

from tests.fuzz.models import BIN_CHUNK, JSON_CHUNK, SEEDS, glb, png, split

#: Keys the loader reads; inserted where they do not exist to reach unusual paths.
LOADER_KEYS = [
    "bufferView", "byteOffset", "byteLength", "byteStride", "count", "componentType", "type",
    "sparse", "indices", "mode", "material", "attributes", "targets", "matrix", "rotation",
    "translation", "scale", "children", "mesh", "skin", "weights", "uri", "source", "sampler",
    "index", "texCoord", "extensionsRequired", "extensionsUsed", "scene", "nodes", "joints",
    "inverseBindMatrices", "input", "output", "interpolation", "path", "normalized",
]  # fmt: skip

SPECIAL_INTS = [0, -1, 1, 2, 3, 4, 255, 65535, 2**31 - 1, 2**31, 2**32, 2**32 + 4, 2**53, 10**9]

hostile_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(SPECIAL_INTS),
    st.integers(-(2**64), 2**64),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.sampled_from(["", "\x00", "a\x00.bin", "%00", "../../etc/passwd", "/etc/passwd", "data:,"]),
    st.sampled_from(["data:application/octet-stream;base64,AAAA", "VEC3", "MAT4", "LINEAR"]),
    st.text(max_size=8),
)
hostile_values = st.recursive(
    hostile_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(st.sampled_from(LOADER_KEYS), inner, max_size=3),
    ),
    max_leaves=8,
)


def paths_of(doc: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a value inside ``doc`` (dict keys and list indices)."""
    out = [prefix] if prefix else []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += paths_of(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += paths_of(v, (*prefix, i))
    return out


def _parent(doc: Any, path: tuple) -> Any:
    for key in path[:-1]:
        doc = doc[key]
    return doc


@st.composite
def mutated_doc(draw: st.DrawFn, doc: dict) -> dict:
    """``doc`` with one to three structure-aware edits."""
    doc = copy.deepcopy(doc)
    for _ in range(draw(st.integers(1, 3))):
        paths = paths_of(doc)
        path = draw(st.sampled_from(paths))
        parent, key = _parent(doc, path), path[-1]
        current = parent[key]
        edit = draw(st.sampled_from(["replace", "delete", "insert", "nudge", "copy"]))
        if edit == "replace":
            parent[key] = draw(hostile_values)
        elif edit == "delete" and isinstance(parent, dict):
            del parent[key]
        elif edit == "insert" and isinstance(current, dict):
            current[draw(st.sampled_from(LOADER_KEYS))] = draw(hostile_values)
        elif edit == "nudge" and isinstance(current, int | float) and not isinstance(current, bool):
            delta = draw(st.sampled_from([-1, 1, -4, 4, 2**31, -(2**31), 10**9]))
            parent[key] = draw(st.sampled_from([current + delta, current * 1000, -current, 0]))
        elif edit == "copy":
            other = _parent(doc, (*draw(st.sampled_from(paths)), ""))
            parent[key] = copy.deepcopy(other)
    return doc


@st.composite
def json_text(draw: st.DrawFn, doc: dict) -> bytes:
    """The document as JSON text, sometimes broken at the text level: deep nesting, huge
    integers, non-finite literals, a cut, invalid UTF-8."""
    text = json.dumps(doc).encode()
    edit = draw(st.sampled_from(["none"] * 12 + ["nest", "bigint", "nan", "cut", "utf8", "bom"]))
    if edit == "nest":
        depth = draw(st.sampled_from([65, 1000, 100_000]))
        text = text[:-1] + b', "extras": ' + b"[" * depth + b"]" * depth + b"}"
    elif edit == "bigint":
        digits = draw(st.sampled_from([21, 400, 4301, 5000]))
        text = text.replace(b'"count": ', b'"count": ' + b"9" * digits + b', "x": ', 1)
    elif edit == "nan":
        text = text.replace(b'"count": ', b'"count": NaN, "x": ', 1).replace(b"1.0", b"1e999", 1)
    elif edit == "cut":
        text = text[: draw(st.integers(0, max(len(text) - 1, 0)))]
    elif edit == "utf8":
        text = text.replace(b'"2.0"', b'"2.0\xff\xfe"', 1)
    elif edit == "bom":
        text = b"\xef\xbb\xbf" + text
    return text


@st.composite
def glb_files(draw: st.DrawFn) -> bytes:
    """A seed GLB with its JSON mutated, its chunks re-framed, or its bytes damaged."""
    seed = SEEDS[draw(st.sampled_from(sorted(SEEDS)))]()
    doc, binary = split(seed)
    if draw(st.integers(0, 3)):
        doc = draw(mutated_doc(doc))
    text = draw(json_text(doc))
    data = glb(text, binary, pad_json=draw(st.sampled_from([True, True, False])))
    edit = draw(st.sampled_from(["none"] * 4 + ["lengths", "chunks", "bytes", "cut", "image"]))
    if edit == "lengths":  # lie in the header or a chunk header
        offset = draw(st.sampled_from([8, 12, 20 + len(text) + (-len(text) % 4)]))
        if offset + 4 <= len(data):
            value = draw(st.sampled_from([*SPECIAL_INTS[:-2], len(data), len(data) + 1]))
            data = data[:offset] + struct.pack("<I", value % 2**32) + data[offset + 4 :]
    elif edit == "chunks":
        extra = (
            struct.pack("<II", 4, draw(st.sampled_from([BIN_CHUNK, JSON_CHUNK, 0x1234]))) + b"abcd"
        )
        data = data[:12] + extra + data[12:] if draw(st.booleans()) else data + extra
        data = data[:8] + struct.pack("<I", len(data)) + data[12:]
    elif edit == "bytes":
        for _ in range(draw(st.integers(1, 8))):
            i = draw(st.integers(0, len(data) - 1))
            data = data[:i] + bytes([draw(st.integers(0, 255))]) + data[i + 1 :]
    elif edit == "cut":
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif edit == "image":
        data = _swap_image(data, draw(image_files()))
    return data


def _swap_image(data: bytes, image: bytes) -> bytes:
    """The GLB with its first image's bytes replaced (view and buffer lengths adjusted)."""
    try:
        doc, binary = split(data)
        view = doc["bufferViews"][doc["images"][0]["bufferView"]]
        view["byteOffset"] = len(binary) + (-len(binary) % 4)
        view["byteLength"] = len(image)
        binary = binary + b"\0" * (-len(binary) % 4) + image
        doc["buffers"][0]["byteLength"] = len(binary)
    except Exception:  # the mutations already broke what the swap needs (even the JSON)
        return data
    return glb(doc, binary)


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


@st.composite
def image_files(draw: st.DrawFn) -> bytes:
    """PNG/JPEG bytes: valid, with a forged (CRC-correct) IHDR size, damaged or cut."""
    fmt = draw(st.sampled_from(["PNG", "JPEG"]))
    data = png(draw(st.integers(1, 12)), draw(st.integers(1, 12)), fmt)
    edit = draw(st.sampled_from(["none", "size", "bytes", "cut"]))
    if edit == "size" and fmt == "PNG":
        w = draw(st.sampled_from([0, 1, 30000, 65535, 2**31 - 1]))
        h = draw(st.sampled_from([0, 1, 30000, 65535, 2**31 - 1]))
        ihdr = struct.pack(">II", w, h) + data[24:29]
        data = data[:8] + _png_chunk(b"IHDR", ihdr) + data[33:]
    elif edit == "size":  # JPEG SOF0 height/width
        sof = data.find(b"\xff\xc0")
        if sof > 0:
            dims = struct.pack(">HH", draw(st.sampled_from([0, 30000, 65535])), 30000)
            data = data[: sof + 5] + dims + data[sof + 9 :]
    elif edit == "bytes":
        for _ in range(draw(st.integers(1, 6))):
            i = draw(st.integers(0, len(data) - 1))
            data = data[:i] + bytes([draw(st.integers(0, 255))]) + data[i + 1 :]
    elif edit == "cut":
        data = data[: draw(st.integers(0, len(data) - 1))]
    return data


@st.composite
def gltf_json_files(draw: st.DrawFn) -> bytes:
    """A .gltf (JSON only, buffers as data: URIs) from a mutated seed."""
    import base64

    doc, binary = split(SEEDS[draw(st.sampled_from(sorted(SEEDS)))]())
    doc["buffers"][0]["uri"] = "data:application/octet-stream;base64," + base64.b64encode(
        binary
    ).decode("ascii")
    if draw(st.booleans()):
        doc = draw(mutated_doc(doc))
    return draw(json_text(doc))


@st.composite
def zip_files(draw: st.DrawFn) -> bytes:
    """A zip of a .gltf, its .bin and a PNG, then damaged at the archive level: hostile
    names, flags, methods, sizes, CRCs, data bytes, a cut, or a bomb."""
    doc, binary = split(SEEDS[draw(st.sampled_from(sorted(SEEDS)))]())
    doc["buffers"][0]["uri"] = "mesh.bin"
    if draw(st.booleans()):
        doc = draw(mutated_doc(doc))
    names = ["scene.gltf", "mesh.bin", "tex.png"]
    if draw(st.booleans()):
        names[draw(st.integers(1, 2))] = draw(
            st.sampled_from(["../evil.bin", "/abs.bin", "C:/x.bin", "a/../../b", "dir/", "x.glb"])
        )
    buf = io.BytesIO()
    method = draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))
    with zipfile.ZipFile(buf, "w", method) as z:
        z.writestr(names[0], draw(json_text(doc)))
        z.writestr(names[1], binary)
        z.writestr(names[2], png())
        if draw(st.integers(0, 9)) == 0:
            z.writestr("bomb.bin", b"\0" * (8 << 20), zipfile.ZIP_DEFLATED)
        if draw(st.integers(0, 9)) == 0:
            link = zipfile.ZipInfo("link.bin")
            link.external_attr = 0o120777 << 16
            z.writestr(link, "mesh.bin")
    data = bytearray(buf.getvalue())
    edit = draw(st.sampled_from(["none", "flag", "method", "crc", "size", "bytes", "cut"]))
    headers = [i for i in range(len(data) - 4) if data[i : i + 4] in (b"PK\x03\x04", b"PK\x01\x02")]
    at = draw(st.sampled_from(headers))
    central = data[at : at + 4] == b"PK\x01\x02"
    field = {"flag": 6, "method": 8, "crc": 14, "size": 22}.get(edit, 0) + (2 if central else 0)
    if edit == "flag":
        data[at + field] |= draw(st.sampled_from([0x01, 0x08, 0x40, 0x21]))
    elif edit == "method":
        struct.pack_into(
            "<H", data, at + field, draw(st.sampled_from([1, 6, 9, 12, 14, 99, 65535]))
        )
    elif edit in ("crc", "size"):
        struct.pack_into("<I", data, at + field, draw(st.sampled_from(SPECIAL_INTS[:-2])) % 2**32)
    elif edit == "bytes":
        for _ in range(draw(st.integers(1, 8))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    elif edit == "cut":
        data = data[: draw(st.integers(4, len(data) - 1))]
    return bytes(data)


SVG_LOGO = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 120 40" width="120" height="40">'
    b'<rect width="120" height="40" fill="#0a3d62"/><circle cx="20" cy="20" r="12" '
    b'fill="#f6b93b"/></svg>'
)
SVG_HOSTILE = [
    # entity expansion ("billion laughs"), an external entity, outside files and URLs
    b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">'
    b']><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 9 9"><text>&b;</text></svg>',
    b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 9 9"><text>&x;</text></svg>',
    b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
    b'viewBox="0 0 9 9"><image xlink:href="file:///etc/passwd" width="9" height="9"/></svg>',
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 9 9">'
    b'<image href="http://127.0.0.1:9/x.png" width="9" height="9"/></svg>',
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 100000"><rect/></svg>',
    b'<svg xmlns="http://www.w3.org/2000/svg" width="99999999" height="99999999"></svg>',
]


@st.composite
def svg_files(draw: st.DrawFn) -> bytes:
    """An SVG logo: valid, hostile (entities, outside files and URLs, absurd sizes),
    damaged byte-wise or cut."""
    data = draw(st.sampled_from([SVG_LOGO, *SVG_HOSTILE]))
    edit = draw(st.sampled_from(["none", "none", "bytes", "cut"]))
    if edit == "bytes":
        for _ in range(draw(st.integers(1, 6))):
            i = draw(st.integers(0, len(data) - 1))
            data = data[:i] + bytes([draw(st.integers(0, 255))]) + data[i + 1 :]
    elif edit == "cut":
        data = data[: draw(st.integers(1, len(data) - 1))]
    return data
