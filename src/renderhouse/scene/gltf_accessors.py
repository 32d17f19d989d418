"""Turn glTF accessors into numpy arrays (glTF 2.0 §3.6: strides, normalisation, sparse).

Types, byte ranges and counts were checked by ``gltf_validate`` (through ``gltf_schema`` and
``gltf_bounds``), so every ``frombuffer`` here stays inside its buffer and every allocation is
bounded by ``ModelLimits``; index values are data, so those pointing past the vertex arrays
are refused here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from renderhouse.errors import ModelError
from renderhouse.scene.gltf_schema import COMPONENT_SIZES, TYPE_COUNTS

DTYPES = {
    5120: np.int8,
    5121: np.uint8,
    5122: np.int16,
    5123: np.uint16,
    5125: np.uint32,
    5126: np.float32,
}
#: Divisors for normalised integers (glTF 2.0 §3.11, "Animations" / KHR_mesh_quantization).
NORMALISE = {5120: 127.0, 5121: 255.0, 5122: 32767.0, 5123: 65535.0}


class AccessorReader:
    """Reads (and memoises) accessors of one validated document."""

    def __init__(self, doc: dict[str, Any], buffers: list[bytes]) -> None:
        self.doc = doc
        self.buffers = buffers
        self._cache: dict[tuple[int, bool], np.ndarray] = {}

    def _raw(self, view_index: int, acc: dict[str, Any], count: int) -> np.ndarray:
        view = self.doc["bufferViews"][view_index]
        ctype, ncomp = acc["componentType"], TYPE_COUNTS[acc["type"]]
        elem = COMPONENT_SIZES[ctype] * ncomp
        stride = view.get("byteStride") or elem
        start = view.get("byteOffset", 0) + acc.get("byteOffset", 0)
        buf = self.buffers[view["buffer"]]
        dtype = np.dtype(DTYPES[ctype]).newbyteorder("<")
        if stride == elem:
            arr = np.frombuffer(buf, dtype=dtype, count=count * ncomp, offset=start)
            return arr.reshape(count, ncomp)
        rows = np.frombuffer(buf, dtype=np.uint8, count=stride * (count - 1) + elem, offset=start)
        rows = np.lib.stride_tricks.as_strided(rows, shape=(count, elem), strides=(stride, 1))
        return np.ascontiguousarray(rows).view(dtype).reshape(count, ncomp)

    def read(self, index: int, *, as_float: bool = True) -> np.ndarray:
        """Accessor ``index`` as (count, components); floats are de-normalised if flagged."""
        key = (index, as_float)
        if key in self._cache:
            return self._cache[key]
        acc = self.doc["accessors"][index]
        count, ctype = acc["count"], acc["componentType"]
        ncomp = TYPE_COUNTS[acc["type"]]
        if "bufferView" in acc:
            arr = self._raw(acc["bufferView"], acc, count)
        else:
            arr = np.zeros((count, ncomp), dtype=DTYPES[ctype])
        sparse = acc.get("sparse")
        if sparse:
            arr = arr.copy()
            n = sparse["count"]
            idx_desc = {
                "componentType": sparse["indices"]["componentType"],
                "type": "SCALAR",
                "byteOffset": sparse["indices"].get("byteOffset", 0),
            }
            val_desc = {
                "componentType": ctype,
                "type": acc["type"],
                "byteOffset": sparse["values"].get("byteOffset", 0),
            }
            idx = self._raw(sparse["indices"]["bufferView"], idx_desc, n)[:, 0]
            if idx.size and int(idx.max()) >= count:
                raise ModelError(
                    f"accessor {index} has sparse indices past its count",
                    code="accessor_out_of_bounds",
                )
            arr[idx] = self._raw(sparse["values"]["bufferView"], val_desc, n)
        if as_float:
            out = arr.astype(np.float32)
            if acc.get("normalized") and ctype in NORMALISE:
                out /= NORMALISE[ctype]
                if ctype in (5120, 5122):
                    np.maximum(out, -1.0, out=out)
            arr = out
        self._cache[key] = arr
        return arr

    def indices(self, index: int, vertex_count: int) -> np.ndarray:
        idx = self.read(index, as_float=False).reshape(-1).astype(np.uint32)
        if idx.size and int(idx.max()) >= vertex_count:
            raise ModelError(
                f"index accessor {index} refers to vertex {int(idx.max())} of {vertex_count}",
                code="accessor_out_of_bounds",
            )
        return idx
