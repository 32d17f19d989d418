"""Type and range checks of every glTF field the loader reads, before it reads any.

The rules are those of the glTF 2.0 JSON schema (specification §5, "Properties Reference")
for the properties the loader uses; properties it ignores are not checked, so a model is
never refused for something that does not affect its render. Every refusal is ``bad_gltf``
with the JSON path of the offending value in ``details["path"]``. Byte ranges and counts are
checked afterwards by ``gltf_validate`` with the buffers in hand.
"""

from __future__ import annotations

import math
from typing import Any

from renderhouse.errors import ModelError

COMPONENT_SIZES = {5120: 1, 5121: 1, 5122: 2, 5123: 2, 5125: 4, 5126: 4}
TYPE_COUNTS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT2": 4, "MAT3": 9, "MAT4": 16}
INDEX_TYPES = (5121, 5123, 5125)
ALPHA_MODES = ("OPAQUE", "MASK", "BLEND")
INTERPOLATIONS = ("LINEAR", "STEP", "CUBICSPLINE")
PATHS = ("translation", "rotation", "scale", "weights")
MAX_INDEX = 2**32 - 1


def bad(path: str, message: str) -> ModelError:
    return ModelError(f"{path} {message}", code="bad_gltf", details={"path": path})


class JsonObject:
    """A JSON object at a known path, with typed getters that refuse wrong values."""

    def __init__(self, value: Any, path: str) -> None:
        if not isinstance(value, dict):
            raise bad(path, f"must be an object, not {type(value).__name__}")
        self.value, self.path = value, path

    def __contains__(self, key: str) -> bool:
        return key in self.value

    def at(self, key: str) -> str:
        return f"{self.path}.{key}"

    def int(self, key: str, lo: int = 0, hi: int = MAX_INDEX, default: int | None = 0) -> int:
        if key not in self.value and default is None:
            raise bad(self.at(key), "is required")
        v = self.value.get(key, default)
        if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
            raise bad(self.at(key), f"must be an integer in {lo}..{hi}, not {_show(v)}")
        return v

    def ref(self, key: str, size: int, required: bool = False) -> int | None:
        """An index into a list of ``size`` items (absent is None unless ``required``)."""
        if key not in self.value:
            if required:
                raise bad(self.at(key), "is required")
            return None
        v = self.value[key]
        if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < size:
            raise bad(self.at(key), f"refers to a missing item {_show(v)} (there are {size})")
        return v

    def number(self, key: str, lo: float = -math.inf, hi: float = math.inf) -> None:
        v = self.value.get(key, lo if lo > -math.inf else 0.0)
        if not _is_number(v) or not lo <= v <= hi:
            raise bad(self.at(key), f"must be a number in [{lo}, {hi}], not {_show(v)}")

    def numbers(
        self, key: str, n: int | None = None, lo: float = -math.inf, hi: float = math.inf
    ) -> list[float] | None:
        if key not in self.value:
            return None
        v = self.value[key]
        if not isinstance(v, list) or not all(_is_number(x) and lo <= x <= hi for x in v):
            ranged = f" in [{lo}, {hi}]" if (lo, hi) != (-math.inf, math.inf) else ""
            raise bad(self.at(key), f"must be a list of numbers{ranged}")
        if n is not None and len(v) != n:
            raise bad(self.at(key), f"must hold {n} numbers, not {len(v)}")
        return v

    def enum(self, key: str, allowed: tuple[Any, ...], default: Any) -> Any:
        v = self.value.get(key, default)
        if isinstance(v, bool) or v not in allowed:
            raise bad(self.at(key), f"must be one of {', '.join(map(str, allowed))}")
        return v

    def bool(self, key: str) -> None:
        if not isinstance(self.value.get(key, False), bool):
            raise bad(self.at(key), "must be true or false")

    def string(self, key: str) -> str | None:
        v = self.value.get(key)
        if v is not None and not isinstance(v, str):
            raise bad(self.at(key), "must be a string")
        return v

    def obj(self, key: str) -> JsonObject | None:
        return JsonObject(self.value[key], self.at(key)) if key in self.value else None

    def objects(self, key: str, non_empty: bool = False) -> list[JsonObject]:
        v = self.value.get(key, [])
        if not isinstance(v, list) or (non_empty and not v):
            raise bad(self.at(key), "must be a non-empty list" if non_empty else "must be a list")
        return [JsonObject(item, f"{self.at(key)}[{i}]") for i, item in enumerate(v)]

    def refs(self, key: str, size: int) -> list[int]:
        v = self.value.get(key, [])
        if not isinstance(v, list):
            raise bad(self.at(key), "must be a list of indices")
        for i, item in enumerate(v):
            if not isinstance(item, int) or isinstance(item, bool) or not 0 <= item < size:
                raise bad(f"{self.at(key)}[{i}]", f"refers to a missing item {_show(item)}")
        return v


#: Largest float32: glTF numbers end up in float32 arrays, and Python ints of any size would
#: overflow a float conversion.
FLT_MAX = 3.4028234663852886e38


def _is_number(v: Any) -> bool:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return False
    return abs(v) <= FLT_MAX  # False for NaN, infinities and huge integers


def _show(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def sizes(doc: JsonObject) -> dict[str, int]:
    """Length of each top-level list, after checking it is a list of objects."""
    out = {}
    for key in (
        "scenes",
        "nodes",
        "meshes",
        "accessors",
        "bufferViews",
        "buffers",
        "images",
        "textures",
        "samplers",
        "materials",
        "skins",
        "animations",
    ):
        out[key] = len(doc.objects(key))
    return out


def check_document(raw: dict[str, Any]) -> None:
    """Refuse (``bad_gltf``) any value the loader would misread; see the module docstring."""
    doc = JsonObject(raw, "$")
    n = sizes(doc)
    for key in ("extensionsUsed", "extensionsRequired"):
        v = raw.get(key, [])
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise bad(doc.at(key), "must be a list of extension names")
    doc.ref("scene", n["scenes"])
    for scene in doc.objects("scenes"):
        scene.refs("nodes", n["nodes"])
    for node in doc.objects("nodes"):
        _node(node, n)
    for mesh in doc.objects("meshes"):
        mesh.numbers("weights")
        for prim in mesh.objects("primitives", non_empty=True):
            _primitive(prim, n)
    for buf in doc.objects("buffers"):
        buf.int("byteLength", lo=1, default=None)
        _uri(buf)
    for view in doc.objects("bufferViews"):
        view.ref("buffer", n["buffers"], required=True)
        view.int("byteOffset")
        view.int("byteLength", lo=1, default=None)
        if "byteStride" in view:
            view.int("byteStride", lo=4, hi=252)
            if view.value["byteStride"] % 4:
                raise bad(view.at("byteStride"), "must be a multiple of 4")
    for acc in doc.objects("accessors"):
        _accessor(acc, n)
    for image in doc.objects("images"):
        _uri(image)
        image.string("mimeType")
        image.ref("bufferView", n["bufferViews"])
        if ("uri" in image) == ("bufferView" in image):
            raise bad(image.path, "must have exactly one of uri and bufferView")
    for tex in doc.objects("textures"):
        tex.ref("source", n["images"])
        tex.ref("sampler", n["samplers"])
    for sampler in doc.objects("samplers"):
        for key in ("wrapS", "wrapT", "magFilter", "minFilter"):
            sampler.int(key, hi=65535)
    for material in doc.objects("materials"):
        _material(material, n)
    for skin in doc.objects("skins"):
        skin.ref("inverseBindMatrices", n["accessors"])
        if not skin.refs("joints", n["nodes"]):
            raise bad(skin.at("joints"), "must list at least one node")
    for anim in doc.objects("animations"):
        samplers = anim.objects("samplers", non_empty=True)
        for sampler in samplers:
            sampler.ref("input", n["accessors"], required=True)
            sampler.ref("output", n["accessors"], required=True)
            sampler.enum("interpolation", INTERPOLATIONS, "LINEAR")
        for channel in anim.objects("channels", non_empty=True):
            channel.ref("sampler", len(samplers), required=True)
            target = channel.obj("target")
            if target is None:
                raise bad(channel.at("target"), "is required")
            target.ref("node", n["nodes"])
            target.enum("path", PATHS, None)


def _uri(item: JsonObject) -> None:
    uri = item.string("uri")
    if uri is not None and ("\0" in uri or "%00" in uri):
        raise bad(item.at("uri"), "holds a NUL byte")


def _node(node: JsonObject, n: dict[str, int]) -> None:
    node.refs("children", n["nodes"])
    node.ref("mesh", n["meshes"])
    node.ref("skin", n["skins"])
    node.numbers("translation", 3)
    node.numbers("scale", 3)
    node.numbers("weights")
    rotation = node.numbers("rotation", 4)
    if rotation is not None and math.fsum(x * x for x in rotation) < 1e-12:
        raise bad(node.at("rotation"), "must be a unit quaternion, not zero")
    matrix = node.numbers("matrix", 16)
    if matrix is not None:
        if any(abs(matrix[i]) > 1e-6 for i in (3, 7, 11)) or abs(matrix[15] - 1) > 1e-6:
            raise bad(node.at("matrix"), "must be an affine transform (last row 0, 0, 0, 1)")
        a, b, c = matrix[0:3], matrix[4:7], matrix[8:11]  # columns of the linear part
        det = (
            a[0] * (b[1] * c[2] - b[2] * c[1])
            - b[0] * (a[1] * c[2] - a[2] * c[1])
            + c[0] * (a[1] * b[2] - a[2] * b[1])
        )
        if not math.isfinite(det) or det == 0:
            raise bad(node.at("matrix"), "is singular; it must decompose into TRS (§5.25)")


def _primitive(prim: JsonObject, n: dict[str, int]) -> None:
    attributes = prim.obj("attributes")
    if attributes is None:
        raise bad(prim.at("attributes"), "is required")
    for key in attributes.value:
        attributes.ref(key, n["accessors"], required=True)
    prim.ref("indices", n["accessors"])
    prim.ref("material", n["materials"])
    prim.int("mode", hi=6, default=4)
    for target in prim.objects("targets"):
        for key in target.value:
            target.ref(key, n["accessors"], required=True)
    prim.obj("extensions")


def _accessor(acc: JsonObject, n: dict[str, int]) -> None:
    acc.ref("bufferView", n["bufferViews"])
    acc.int("byteOffset")
    acc.enum("componentType", tuple(COMPONENT_SIZES), None)
    acc.enum("type", tuple(TYPE_COUNTS), None)
    acc.int("count", lo=1, default=None)
    acc.bool("normalized")
    sparse = acc.obj("sparse")
    if sparse is None:
        return
    sparse.int("count", lo=1, hi=acc.value["count"], default=None)
    for part in ("indices", "values"):
        sub = sparse.obj(part)
        if sub is None:
            raise bad(sparse.at(part), "is required")
        sub.ref("bufferView", n["bufferViews"], required=True)
        sub.int("byteOffset")
        if part == "indices":
            sub.enum("componentType", INDEX_TYPES, None)


def _texture_info(info: JsonObject | None, n: dict[str, int]) -> None:
    if info is None:
        return
    info.ref("index", n["textures"], required=True)
    info.int("texCoord", hi=1)
    ext = info.obj("extensions")
    transform = ext.obj("KHR_texture_transform") if ext is not None else None
    if transform is not None:
        transform.numbers("offset", 2)
        transform.numbers("scale", 2)
        transform.number("rotation")
        transform.int("texCoord")


def _material(m: JsonObject, n: dict[str, int]) -> None:
    pbr = m.obj("pbrMetallicRoughness")
    if pbr is not None:
        pbr.numbers("baseColorFactor", 4, 0.0, 1.0)
        pbr.number("metallicFactor", 0.0, 1.0)
        pbr.number("roughnessFactor", 0.0, 1.0)
        _texture_info(pbr.obj("baseColorTexture"), n)
        _texture_info(pbr.obj("metallicRoughnessTexture"), n)
    m.numbers("emissiveFactor", 3, 0.0, 1.0)
    m.enum("alphaMode", ALPHA_MODES, "OPAQUE")
    m.number("alphaCutoff", 0.0)
    m.bool("doubleSided")
    for key in ("normalTexture", "occlusionTexture", "emissiveTexture"):
        _texture_info(m.obj(key), n)
    if "normalTexture" in m:
        JsonObject(m.value["normalTexture"], m.at("normalTexture")).number("scale")
    if "occlusionTexture" in m:
        JsonObject(m.value["occlusionTexture"], m.at("occlusionTexture")).number(
            "strength", 0.0, 1.0
        )
    ext = m.obj("extensions")
    if ext is None:
        return
    fields = {  # ranges from each extension's JSON schema
        "KHR_materials_emissive_strength": {"emissiveStrength": (0.0, math.inf)},
        "KHR_materials_transmission": {"transmissionFactor": (0.0, 1.0)},
        "KHR_materials_ior": {"ior": (0.0, math.inf)},
        "KHR_materials_iridescence": {
            "iridescenceFactor": (0.0, 1.0),
            "iridescenceIor": (1.0, math.inf),
            "iridescenceThicknessMaximum": (0.0, math.inf),
        },
    }
    for name, keys in fields.items():
        sub = ext.obj(name)
        for key, (lo, hi) in keys.items():
            if sub is not None:
                sub.number(key, lo, hi)
