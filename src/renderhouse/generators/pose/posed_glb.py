"""Write the avatar in a pose as a GLB: the joints' TRS replaced, everything else (buffers,
materials, skin, units and up axis) as uploaded, so it goes back into the user's tool as it
came out, and ``capture_pose`` reads the pose back from it."""

from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np

from renderhouse.errors import ModelError
from renderhouse.generators.pose.avatar import Avatar


def _pad(data: bytes, fill: bytes) -> bytes:
    return data + fill * ((-len(data)) % 4)


def posed_glb(avatar: Avatar, overrides: dict[int, dict[str, np.ndarray]]) -> bytes:
    doc: dict[str, Any] = json.loads(avatar.model.json_text)
    buffers = avatar.model.buffers
    if len(buffers) > 1 or any("uri" in b for b in doc.get("buffers") or []):
        raise ModelError(
            "a posed GLB can only be written for a self-contained .glb avatar",
            code="unsupported_layout",
        )
    nodes = doc["nodes"]
    for i, trs in overrides.items():
        node = nodes[i]
        node.pop("matrix", None)
        node["translation"] = [float(v) for v in trs["translation"]]
        node["rotation"] = [float(v) for v in trs["rotation"]]
        node["scale"] = [float(v) for v in trs["scale"]]
    body = _pad(json.dumps(doc, separators=(",", ":")).encode(), b" ")
    chunks = struct.pack("<II", len(body), 0x4E4F534A) + body
    if buffers:
        blob = _pad(buffers[0], b"\0")
        chunks += struct.pack("<II", len(blob), 0x004E4942) + blob
    return struct.pack("<4sII", b"glTF", 2, 12 + len(chunks)) + chunks
