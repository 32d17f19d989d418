"""Parse the JSON of an untrusted glTF within bounded time and memory.

Python's ``json`` accepts what RFC 8259 does not (``NaN``, ``Infinity``), turns ``1e999``
into infinity, converts integers of any length (quadratic in the digit count until the
interpreter's own 4300-digit guard raises ``ValueError``) and recurses once per nesting level
(``RecursionError``). A glTF never needs any of that, so each case is refused as ``bad_json``
with a sentence, and nothing but ``ModelError`` leaves this module.
"""

from __future__ import annotations

import json
import math
from typing import Any

from renderhouse.errors import ModelError

#: Longest integer literal accepted: a byte offset into a 2^64-byte buffer has 20 digits.
MAX_INT_DIGITS = 20
#: Deepest nesting accepted; a glTF is about 6 deep, ``extras`` rarely add more than a few.
MAX_DEPTH = 64


class _Refused(ValueError):
    """A literal the glTF grammar does not allow (raised from the decoder's hooks)."""


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _Refused(f"an integer of {len(text.lstrip('-'))} digits")
    return int(text)


def _float(text: str) -> float:
    if len(text) > 400:
        raise _Refused(f"a number written with {len(text)} characters")
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"the number {text[:40]}, out of range")
    return value


def _constant(name: str) -> Any:
    raise _Refused(f"the literal {name}, which is not JSON")


def _depth(value: Any) -> int:
    """Nesting depth, iteratively (the document is already bounded by the decoder)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


def parse_gltf_json(data: bytes | str, what: str = "glTF") -> dict[str, Any]:
    """The glTF JSON object in ``data``; ``ModelError`` (``bad_json`` / ``bad_gltf``) if it
    is not one. ``what`` names the source in messages (``GLB``, ``.gltf``)."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ModelError(f"the {what} JSON is not UTF-8: {exc}", code="bad_json") from None
    try:
        doc = json.loads(data, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except RecursionError:
        raise ModelError(
            f"the {what} JSON is nested too deeply to be a glTF", code="bad_json"
        ) from None
    except _Refused as exc:
        raise ModelError(
            f"the {what} JSON holds {exc}; a glTF never does", code="bad_json"
        ) from None
    except ValueError as exc:  # JSONDecodeError and the interpreter's own integer guard
        raise ModelError(f"the {what} JSON does not parse: {exc}", code="bad_json") from None
    if _depth(doc) > MAX_DEPTH:
        raise ModelError(
            f"the {what} JSON is nested deeper than {MAX_DEPTH} levels; a glTF never is",
            code="bad_json",
        )
    if not isinstance(doc, dict) or not isinstance(doc.get("asset"), dict):
        raise ModelError(f"the {what} JSON is not a glTF document (no 'asset')", code="bad_gltf")
    return doc
