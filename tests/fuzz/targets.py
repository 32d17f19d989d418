"""The parsers under fuzz: for each, a strategy of hostile inputs and a function that feeds
one input through every stage a real upload or job would, returning what happened.

A target returns ``"accepted"`` or the refusal's code; any other exception escaping it is a
crash. ``PARSERS`` is the registry ``tests/fuzz`` and ``benchmarks/fuzz.py`` iterate; a new
parser (the schedule generator's PDF reader) registers with ``register``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hypothesis import strategies as st

from renderhouse.errors import ModelError, RenderhouseError
from tests.fuzz import strategies

ZIP_BUDGET = 64 << 20
#: Refusals only the loader can make, as they need the data decoded, not just described.
DATA_CODES = ("accepted", "empty_model", "bad_geometry", "accessor_out_of_bounds", "bad_texture")


@dataclass(frozen=True)
class Parser:
    name: str
    inputs: st.SearchStrategy[bytes]
    run: Callable[[bytes], str]
    in_ci: bool = True  # False when the parser's package runs its own bounded fuzz test


PARSERS: dict[str, Parser] = {}


def register(
    name: str, inputs: st.SearchStrategy[bytes], run: Callable[[bytes], str], in_ci: bool = True
) -> None:
    PARSERS[name] = Parser(name, inputs, run, in_ci)


def _refusal(exc: RenderhouseError) -> str:
    """The code of a refusal that is a proper 4xx with a sentence, else a crash."""
    if not 400 <= exc.http_status < 500 or not exc.code or not exc.message:
        raise AssertionError(f"refusal without a 4xx code and sentence: {exc!r}") from exc
    return exc.code


def load_model(path: Path) -> str:
    """What a turntable job does before rendering: validate, then build the scene posed at
    rest and animated."""
    from renderhouse.scene.gltf_scene import load_scene
    from renderhouse.scene.gltf_validate import validate_model

    try:
        model = validate_model(path)
        load_scene(model, max_texture_side=32)
        if model.doc.get("animations"):
            load_scene(model, max_texture_side=32, animation=0, animation_time=0.4)
    except ModelError as exc:
        return _refusal(exc)
    return "accepted"


def upload_check(path: Path) -> str:
    """What ``POST /v1/uploads`` does with the bytes."""
    from renderhouse.api import filetypes

    with tempfile.TemporaryDirectory() as work:
        try:
            filetypes.detect(path, ZIP_BUDGET, Path(work))
        except RenderhouseError as exc:
            return _refusal(exc)
    return "accepted"


def _model_file(data: bytes, suffix: str) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"model{suffix}"
        path.write_bytes(data)
        at_upload = upload_check(path)
        in_job = load_model(path)
    if at_upload == "accepted" and in_job not in DATA_CODES:
        # validation is shared, so an upload that passes must not fail validation later;
        # only what needs the data itself (index values, vertex positions, pixels) may
        raise AssertionError(f"upload accepted a model the job refuses with {in_job}")
    return in_job if at_upload == "accepted" else at_upload


def run_glb(data: bytes) -> str:
    return _model_file(data, ".glb")


def run_gltf_json(data: bytes) -> str:
    return _model_file(data, ".gltf")


def run_zip(data: bytes) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "upload.zip"
        path.write_bytes(data)
        return upload_check(path)


def run_image(data: bytes) -> str:
    from renderhouse.scene.gltf_scene import _decode_image
    from renderhouse.scene.gltf_validate import ModelLimits, image_size

    try:
        image_size(data, 0, ModelLimits().max_texture_pixels)
        _decode_image(data, 32, 0)
    except ModelError as exc:
        return _refusal(exc)
    return "accepted"


register("glb", strategies.glb_files(), run_glb)
register("gltf-json", strategies.gltf_json_files(), run_gltf_json)
register("zip", strategies.zip_files(), run_zip)
register("image", strategies.image_files(), run_image)


def run_svg(data: bytes) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "logo.svg"
        path.write_bytes(data)
        return upload_check(path)


register("svg", strategies.svg_files(), run_svg)


def _register_pdf() -> None:
    """The schedule generator's PDF reader (its CI fuzz test is tests/schedule's own)."""
    from tests.schedule.fuzz_pdf import pdf_files, run_pdf

    register("pdf", pdf_files(), run_pdf, in_ci=False)


_register_pdf()
