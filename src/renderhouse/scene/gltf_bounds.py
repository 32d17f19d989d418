"""Byte ranges, accessor shapes and the sizes the loader will allocate, checked before it
reads a byte (glTF 2.0 §3.6 "Accessors", §3.7.2 "Meshes", §3.7.3 "Skins", §3.11
"Animations").

Runs after ``gltf_schema``, so every field has its type and every index its target. What is
checked here needs two things at once: the buffers' real lengths (a view inside its buffer,
an accessor and its sparse parts inside their views), or an accessor and its use (POSITION
is VEC3, indices are unsigned SCALARs, an animation's output count matches its input). The
counts bound every allocation: an accessor without a bufferView is all zeros *per the spec*
and would otherwise be a free ``count``-sized allocation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from renderhouse.errors import ModelError
from renderhouse.scene.gltf_schema import COMPONENT_SIZES, INDEX_TYPES, TYPE_COUNTS

#: Accessor types and component types per attribute semantic (§3.7.2.1, with the integer
#: forms KHR_mesh_quantization adds); prefixes end in "_". Integer colours, weights, normals
#: and tangents must be normalized, or they would be read as values hundreds of times too big.
SEMANTICS = {
    "POSITION": (("VEC3",), (5120, 5121, 5122, 5123, 5126)),
    "NORMAL": (("VEC3",), (5120, 5122, 5126)),
    "TANGENT": (("VEC4",), (5120, 5122, 5126)),
    "TEXCOORD_": (("VEC2",), (5120, 5121, 5122, 5123, 5126)),
    "COLOR_": (("VEC3", "VEC4"), (5121, 5123, 5126)),
    "JOINTS_": (("VEC4",), (5121, 5123)),
    "WEIGHTS_": (("VEC4",), (5121, 5123, 5126)),
}
MUST_NORMALIZE = ("NORMAL", "TANGENT", "COLOR_", "WEIGHTS_")
TARGET_SEMANTICS = {
    "POSITION": (("VEC3",), (5120, 5122, 5126)),
    "NORMAL": (("VEC3",), (5120, 5122, 5126)),
    "TANGENT": (("VEC3",), (5120, 5122, 5126)),
}
ANIMATED_TYPES = {"translation": "VEC3", "scale": "VEC3", "rotation": "VEC4", "weights": "SCALAR"}
FLOAT = 5126
#: Values (count x components) all accessors may declare together, per allowed vertex:
#: 16 is a vertex with position, normal, tangent, two UVs and a colour; a model that fits
#: the file size limit as float32 never comes near it, while a thousand accessors aliasing
#: one view (or none) would otherwise decode to far more memory than the file holds.
COMPONENT_BUDGET = 16


@dataclass
class GeometryCounts:
    triangles: int
    vertices: int


def _fail(code: str, message: str, **details: Any) -> ModelError:
    return ModelError(message, code=code, details=details)


def check_ranges(doc: dict[str, Any], buffer_lengths: list[int], max_elements: int) -> None:
    """Every view inside its buffer, every accessor (and sparse part) inside its view, no
    accessor with more than ``max_elements`` elements; then each accessor fits its uses."""
    views = doc.get("bufferViews", [])
    for i, view in enumerate(views):
        start, length = view.get("byteOffset", 0), view["byteLength"]
        have = buffer_lengths[view["buffer"]]
        if start + length > have:
            raise _fail(
                "buffer_out_of_bounds",
                f"bufferView {i} spans bytes {start}..{start + length} of a {have}-byte buffer",
                buffer_view=i,
            )
    for i, acc in enumerate(doc.get("accessors", [])):
        count, elem = acc["count"], COMPONENT_SIZES[acc["componentType"]]
        elem *= TYPE_COUNTS[acc["type"]]
        if "bufferView" in acc:
            view = views[acc["bufferView"]]
            stride = view.get("byteStride") or elem
            if stride < elem:
                raise _fail(
                    "bad_gltf",
                    f"accessor {i} has {elem}-byte elements but its bufferView's byteStride "
                    f"is {stride}",
                    accessor=i,
                )
            _inside(i, "", acc.get("byteOffset", 0) + stride * (count - 1) + elem, view)
        if count > max_elements:
            raise _fail(
                "too_many_vertices",
                f"accessor {i} declares {count} elements; the limit is {max_elements}",
                accessor=i,
                count=count,
                limit=max_elements,
            )
        sparse = acc.get("sparse")
        if sparse:
            n = sparse["count"]
            idx, val = sparse["indices"], sparse["values"]
            need = idx.get("byteOffset", 0) + n * COMPONENT_SIZES[idx["componentType"]]
            _inside(i, "sparse indices ", need, views[idx["bufferView"]])
            _inside(
                i, "sparse values ", val.get("byteOffset", 0) + n * elem, views[val["bufferView"]]
            )
    total = sum(a["count"] * TYPE_COUNTS[a["type"]] for a in doc.get("accessors", []))
    if total > max_elements * COMPONENT_BUDGET:
        raise _fail(
            "too_many_vertices",
            f"the accessors declare {total} values in all; the limit is "
            f"{max_elements * COMPONENT_BUDGET} (accessors that share a bufferView or have "
            "none cost memory, not file size)",
            count=total,
            limit=max_elements * COMPONENT_BUDGET,
        )
    _check_uses(doc)


def _inside(i: int, what: str, end: int, view: dict[str, Any]) -> None:
    if end > view["byteLength"]:
        raise _fail(
            "accessor_out_of_bounds",
            f"accessor {i} {what}needs {end} bytes but its bufferView holds {view['byteLength']}",
            accessor=i,
        )


def _expect(
    doc: dict[str, Any], index: int, what: str, types: tuple[str, ...], ctypes: tuple[int, ...] = ()
) -> dict[str, Any]:
    acc = doc["accessors"][index]
    if acc["type"] not in types or (ctypes and acc["componentType"] not in ctypes):
        want = "/".join(types) + (
            f" of componentType {'/'.join(map(str, ctypes))}" if ctypes else ""
        )
        raise _fail(
            "bad_gltf",
            f"{what} uses accessor {index} of type {acc['type']} "
            f"(componentType {acc['componentType']}); it must be {want}",
            accessor=index,
        )
    return acc


def _semantic(name: str, table: dict) -> str | None:
    for key in table:
        if name == key or (key.endswith("_") and name.startswith(key)):
            return key
    return None


def _attribute(doc: dict[str, Any], index: int, what: str, name: str, table: dict) -> None:
    key = _semantic(name, table)
    if key is None:
        return  # an application-specific attribute ("_FOO"): the loader does not read it
    types, ctypes = table[key]
    acc = _expect(doc, index, f"{what} {name}", types, ctypes)
    if key in MUST_NORMALIZE and acc["componentType"] != FLOAT and not acc.get("normalized"):
        raise _fail(
            "bad_gltf",
            f"{what} {name} uses integer accessor {index} that is not normalized",
            accessor=index,
        )


def _check_uses(doc: dict[str, Any]) -> None:
    accessors = doc.get("accessors", [])
    for m, mesh in enumerate(doc.get("meshes", [])):
        for p, prim in enumerate(mesh["primitives"]):
            where = f"mesh {m} primitive {p}"
            counts = set()
            for name, index in prim["attributes"].items():
                _attribute(doc, index, where, name, SEMANTICS)
                counts.add(accessors[index]["count"])
            for t, target in enumerate(prim.get("targets", [])):
                for name, index in target.items():
                    _attribute(doc, index, f"{where} target {t}", name, TARGET_SEMANTICS)
                    counts.add(accessors[index]["count"])
            if len(counts) > 1:
                raise _fail(
                    "bad_gltf",
                    f"{where}'s attributes have different counts {sorted(counts)}; "
                    "they must all describe the same vertices",
                    mesh=m,
                    primitive=p,
                )
            if "indices" in prim:
                _expect(doc, prim["indices"], f"{where} indices", ("SCALAR",), INDEX_TYPES)
    for s, skin in enumerate(doc.get("skins", [])):
        if "inverseBindMatrices" in skin:
            ibm = _expect(doc, skin["inverseBindMatrices"], f"skin {s}", ("MAT4",), (FLOAT,))
            if ibm["count"] < len(skin["joints"]):
                raise _fail(
                    "bad_gltf",
                    f"skin {s} has {len(skin['joints'])} joints but {ibm['count']} "
                    "inverse bind matrices",
                    skin=s,
                )
    for a, anim in enumerate(doc.get("animations", [])):
        for c, channel in enumerate(anim["channels"]):
            try:
                _check_channel(doc, anim, channel, f"animation {a} channel {c}")
            except ModelError as exc:
                exc.details = {"animation": a, "channel": c, **exc.details}
                raise


def _check_channel(doc: dict[str, Any], anim: dict[str, Any], channel: dict, where: str) -> None:
    sampler = anim["samplers"][channel["sampler"]]
    path = channel["target"]["path"]
    keys = _expect(doc, sampler["input"], f"{where} input", ("SCALAR",), (FLOAT,))["count"]
    out = _expect(doc, sampler["output"], f"{where} output", (ANIMATED_TYPES[path],))["count"]
    per_key = 3 if sampler.get("interpolation", "LINEAR") == "CUBICSPLINE" else 1
    if path == "weights" and out % (keys * per_key) == 0:
        return
    if out != keys * per_key:
        raise _fail(
            "bad_gltf",
            f"{where} has {keys} keyframes but {out} output values; "
            f"{per_key} per keyframe{' per morph target' if path == 'weights' else ''} expected",
        )


def check_keyframes(doc: dict[str, Any], buffers: list[bytes]) -> None:
    """Animation input times must be finite and strictly increasing (§3.11): the sampler
    search the loader does relies on it. Reads only the (ranged-checked) input accessors."""
    import numpy as np

    from renderhouse.scene.gltf_accessors import AccessorReader

    reader = AccessorReader(doc, buffers)
    checked: set[int] = set()  # samplers usually share their input accessors
    for a, anim in enumerate(doc.get("animations", [])):
        for s, sampler in enumerate(anim["samplers"]):
            if sampler["input"] in checked:
                continue
            checked.add(sampler["input"])
            times = reader.read(sampler["input"]).reshape(-1)
            if not np.all(np.isfinite(times)) or np.any(np.diff(times) <= 0):
                raise _fail(
                    "bad_gltf",
                    f"animation {a} sampler {s} has input times that are not finite and "
                    "strictly increasing",
                    accessor=sampler["input"],
                )


def count_geometry(doc: dict[str, Any]) -> GeometryCounts:
    """Triangles and vertices the loader will build: every node instance of every mesh,
    each morph target counted as another set of vertices."""
    accessors = doc.get("accessors", [])
    per_mesh = []
    for mesh in doc.get("meshes", []):
        tris = verts = 0
        for prim in mesh["primitives"]:
            position = prim["attributes"].get("POSITION")
            if position is None:
                continue  # the loader skips it
            n_verts = accessors[position]["count"]
            n = accessors[prim["indices"]]["count"] if "indices" in prim else n_verts
            mode = prim.get("mode", 4)
            tris += n // 3 if mode == 4 else max(n - 2, 0) if mode in (5, 6) else 0
            verts += n_verts * (1 + len(prim.get("targets", [])))  # each target is a copy
        per_mesh.append((tris, verts))
    total = GeometryCounts(0, 0)
    for node in doc.get("nodes", []):
        if "mesh" in node:
            tris, verts = per_mesh[node["mesh"]]
            total.triangles += tris
            total.vertices += verts
    return total
