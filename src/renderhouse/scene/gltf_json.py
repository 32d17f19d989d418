"""Parse the JSON of an untrusted glTF within bounded time and memory.

Python's ``json`` accepts what RFC 8259 does not (``NaN``, ``Infinity``), refuses integers
past 4300 digits with a ``ValueError`` (the interpreter's guard against quadratic
conversion) and recurses once per nesting level (so depth is measured on the text before
parsing, and ``RecursionError`` is still caught). Each case is refused
as ``bad_json`` with a sentence, and nothing but ``ModelError`` leaves this module. Numbers
are not hooked one by one (that costs more than the parse): a huge or infinite value where
the loader reads a number is refused by ``gltf_schema``'s ranges, and elsewhere it is inert.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

from renderhouse.errors import ModelError

#: Deepest nesting accepted; a glTF is about 6 deep, ``extras`` rarely add more than a few.
MAX_DEPTH = 64


class _Refused(ValueError):
    """A literal the glTF grammar does not allow (raised from the decoder's hooks)."""


def _constant(name: str) -> Any:
    raise _Refused(f"the literal {name}, which is not JSON")


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def _depth(text: str) -> int:
    """Deepest bracket nesting of JSON ``text``, measured before parsing so the parser never
    recurses deeply; strings are removed first, all at C speed (regex, then numpy)."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    if not brackets:
        return 0
    codes = np.frombuffer(brackets.encode("ascii"), np.uint8)
    return int(np.cumsum(np.where((codes == 91) | (codes == 123), 1, -1)).max())


def parse_gltf_json(data: bytes | str, what: str = "glTF") -> dict[str, Any]:
    """The glTF JSON object in ``data``; ``ModelError`` (``bad_json`` / ``bad_gltf``) if it
    is not one. ``what`` names the source in messages (``GLB``, ``.gltf``)."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ModelError(f"the {what} JSON is not UTF-8: {exc}", code="bad_json") from None
    if _depth(data) > MAX_DEPTH:
        raise ModelError(
            f"the {what} JSON is nested deeper than {MAX_DEPTH} levels; a glTF never is",
            code="bad_json",
        )
    try:
        doc = json.loads(data, parse_constant=_constant)
    except RecursionError:
        raise ModelError(
            f"the {what} JSON is nested too deeply to be a glTF", code="bad_json"
        ) from None
    except _Refused as exc:
        raise ModelError(
            f"the {what} JSON holds {exc}; a glTF never does", code="bad_json"
        ) from None
    except ValueError as exc:  # JSONDecodeError and the interpreter's own integer guard
        reason = str(exc)
        if "digits" in reason:
            reason = "it holds an integer of more than 4300 digits"
        raise ModelError(f"the {what} JSON does not parse: {reason}", code="bad_json") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("asset"), dict):
        raise ModelError(f"the {what} JSON is not a glTF document (no 'asset')", code="bad_gltf")
    return doc
